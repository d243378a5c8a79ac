import type { SchemaDef } from '../../core/attribute.js';
import { attr, complex } from './define.js';
import { GROUP_SCHEMA } from './urns.js';

/** RFC 7643 §4.2 and §8.7.1. */
export const groupSchema: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'string', 'a human-readable name for the group', { required: true }),
    complex(
      'members',
      'a list of members of the group',
      [
        attr('value', 'string', 'the identifier of the member', { caseExact: true, mutability: 'immutable' }),
        attr('$ref', 'reference', 'the URI of the member', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', 'the display name of the member', { mutability: 'readOnly' }),
        attr('type', 'string', 'the type of the member', {
          mutability: 'immutable',
          canonicalValues: ['User', 'Group'],
        }),
      ],
      { multiValued: true },
    ),
  ],
};
