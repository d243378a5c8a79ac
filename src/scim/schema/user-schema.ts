import type { SchemaDef } from '../../core/attribute.js';
import { attr, complex, multiValued } from './define.js';
import { USER_SCHEMA } from './urns.js';

/** RFC 7643 §4.1 and §8.7.1. */
export const userSchema: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', 'unique identifier for the user, typically used to authenticate', {
      required: true,
      uniqueness: 'server',
    }),
    complex('name', "the components of the user's real name", [
      attr('formatted', 'string', 'the full name, formatted for display'),
      attr('familyName', 'string', 'the family name of the user'),
      attr('givenName', 'string', 'the given name of the user'),
      attr('middleName', 'string', 'the middle name(s) of the user'),
      attr('honorificPrefix', 'string', 'the honorific prefix(es) of the user'),
      attr('honorificSuffix', 'string', 'the honorific suffix(es) of the user'),
    ]),
    attr('displayName', 'string', 'the name of the user, suitable for display to end-users'),
    attr('nickName', 'string', 'the casual way to address the user'),
    attr('profileUrl', 'reference', "a URI to the user's online profile", { referenceTypes: ['external'] }),
    attr('title', 'string', "the user's title, such as \"Vice President\""),
    attr('userType', 'string', 'the relationship between the organization and the user'),
    attr('preferredLanguage', 'string', "the user's preferred written or spoken language"),
    attr('locale', 'string', "the user's default location for localizing items"),
    attr('timezone', 'string', "the user's time zone in the IANA time zone database format"),
    attr('active', 'boolean', "the user's administrative status"),
    attr('password', 'string', "the user's cleartext password, never returned", {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    multiValued('emails', 'email addresses for the user', 'string', ['work', 'home', 'other']),
    multiValued('phoneNumbers', 'phone numbers for the user', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multiValued('ims', 'instant messaging addresses for the user', 'string', [
      'aim',
      'gtalk',
      'icq',
      'xmpp',
      'msn',
      'skype',
      'qq',
      'yahoo',
    ]),
    multiValued('photos', 'URLs of photos of the user', 'reference', ['photo', 'thumbnail']),
    complex(
      'addresses',
      'a physical mailing address for this user',
      [
        attr('formatted', 'string', 'the full mailing address, formatted for display'),
        attr('streetAddress', 'string', 'the full street address component'),
        attr('locality', 'string', 'the city or locality component'),
        attr('region', 'string', 'the state or region component'),
        attr('postalCode', 'string', 'the zip code or postal code component'),
        attr('country', 'string', 'the country name component'),
        attr('type', 'string', "a label indicating the address's function", {
          canonicalValues: ['work', 'home', 'other'],
        }),
        attr('primary', 'boolean', 'whether this is the primary address'),
      ],
      { multiValued: true },
    ),
    complex(
      'groups',
      'the groups to which the user belongs, directly or through nested groups',
      [
        attr('value', 'string', 'the identifier of the group', { caseExact: true, mutability: 'readOnly' }),
        attr('$ref', 'reference', 'the URI of the group', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', 'the display name of the group', { mutability: 'readOnly' }),
        attr('type', 'string', 'how the membership is derived', {
          mutability: 'readOnly',
          canonicalValues: ['direct', 'indirect'],
        }),
      ],
      { multiValued: true, mutability: 'readOnly' },
    ),
    multiValued('entitlements', 'entitlements for the user', 'string', []),
    multiValued('roles', 'roles for the user', 'string', []),
    complex(
      'x509Certificates',
      'certificates issued to the user',
      [
        attr('value', 'binary', 'the DER-encoded certificate'),
        attr('display', 'string', 'a human-readable name'),
        attr('type', 'string', "a label indicating the certificate's function"),
        attr('primary', 'boolean', 'whether this is the primary certificate'),
      ],
      { multiValued: true },
    ),
  ],
};
