import type { SchemaDef } from '../../core/attribute.js';
import { attr, complex } from './define.js';
import { ENTERPRISE_USER_SCHEMA } from './urns.js';

/** RFC 7643 §4.3. */
export const enterpriseUserSchema: SchemaDef = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', 'a string identifier, typically numeric or alphanumeric, assigned to a person'),
    attr('costCenter', 'string', 'the name of a cost center'),
    attr('organization', 'string', 'the name of an organization'),
    attr('division', 'string', 'the name of a division'),
    attr('department', 'string', 'the name of a department'),
    complex('manager', "the user's manager", [
      attr('value', 'string', 'the id of the SCIM resource representing the manager', { caseExact: true }),
      attr('$ref', 'reference', 'the URI of the manager resource', { referenceTypes: ['User'] }),
      attr('displayName', 'string', "the manager's display name", { mutability: 'readOnly' }),
    ]),
  ],
};
