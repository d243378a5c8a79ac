import { attr, complex } from './define.js';

/**
 * RFC 7643 §3.1: attributes every resource has. They belong to no schema's attribute list in
 * `/Schemas`, but filters, sorting and PATCH name them as if they were core attributes.
 */
export const COMMON_ATTRIBUTES = [
  attr('id', 'string', 'a unique identifier for the resource, assigned by the service provider', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', 'string', 'an identifier for the resource as defined by the provisioning client', {
    caseExact: true,
  }),
  complex(
    'meta',
    'resource metadata',
    [
      attr('resourceType', 'string', 'the name of the resource type of the resource', {
        caseExact: true,
        mutability: 'readOnly',
      }),
      attr('created', 'dateTime', 'when the resource was added to the service provider', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'when the resource was last updated', { mutability: 'readOnly' }),
      attr('location', 'reference', 'the URI of the resource', { mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', 'the version (entity tag) of the resource', { caseExact: true, mutability: 'readOnly' }),
    ],
    { mutability: 'readOnly' },
  ),
] as const;
