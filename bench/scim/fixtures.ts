/**
 * Request bodies shaped like what Microsoft Entra ID sends (its provisioning logs and the SCIM
 * validator's samples): every value is a pure function of an index, so runs are repeatable and a
 * lookup can name a user without asking the server.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

const GIVEN = [
  'Adele', 'Alex', 'Allan', 'Bianca', 'Cameron', 'Christie', 'Debra', 'Diego', 'Emily', 'Enrico', 'Grady', 'Henrietta',
  'Irvin', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam', 'Nestor', 'Patti', 'Pradeep',
  'Raul', 'Sakura', 'Tomasz', 'Vasundhara', 'Wei', 'Yusuf', 'Zainab', 'Olga',
];
const FAMILY = [
  'Vance', 'Wilber', 'Deyoung', 'Pires', 'White', 'Cline', 'Berg', 'Soto', 'Braun', 'Rodriguez', 'Archie', 'Mueller',
  'Mckenzie', 'Langer', 'Lanier', 'Sherman', 'Gu', 'Holloway', 'Valdez', 'Bowen', 'Hanna', 'Wilke', 'Fernandez',
  'Gupta', 'Nakamura', 'Kowalski', 'Iyer', 'Chen', 'Okafor', 'Haddad', 'Petrova', 'Moreau',
];
const DEPARTMENTS = [
  'Engineering', 'Sales', 'Marketing', 'Finance', 'Human Resources', 'Legal', 'Operations', 'Customer Success',
  'Product', 'Research', 'IT', 'Facilities',
];
const TITLES = ['Engineer', 'Senior Engineer', 'Manager', 'Director', 'Analyst', 'Specialist', 'Consultant', 'Associate'];
const CITIES: ReadonlyArray<readonly [string, string, string, string]> = [
  ['Redmond', 'WA', '98052', 'US'],
  ['Seattle', 'WA', '98101', 'US'],
  ['Austin', 'TX', '73301', 'US'],
  ['Dublin', 'Leinster', 'D02', 'IE'],
  ['Munich', 'Bavaria', '80331', 'DE'],
  ['Bengaluru', 'Karnataka', '560001', 'IN'],
];

/** `000042`: six digits, so a 5-digit `co` fragment matches about twenty users out of 100,000. */
export function serial(i: number): string {
  return String(i).padStart(6, '0');
}

/** A GUID-looking value derived from the index (Entra's `externalId` is usually an object id). */
export function guid(i: number, salt = 0): string {
  let h = (Math.imul(i + 1, 2654435761) ^ Math.imul(salt + 7, 40503)) >>> 0;
  const parts: string[] = [];
  for (let k = 0; k < 4; k++) {
    h = (Math.imul(h ^ (h >>> 15), 2246822507) + k) >>> 0;
    parts.push(h.toString(16).padStart(8, '0'));
  }
  const hex = parts.join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function names(i: number): { given: string; family: string } {
  return { given: GIVEN[i % GIVEN.length]!, family: FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]! };
}

/** The userName of user `i`; unique per index. */
export function userName(i: number): string {
  const { given, family } = names(i);
  return `${given}.${family}.${serial(i)}@contoso.example`.toLowerCase();
}

/**
 * The body Entra POSTs to create user `i` (core + enterprise extension). `managerId` is the SCIM id
 * of another user, as Entra sends it.
 */
export function userBody(i: number, managerId?: string): string {
  const { given, family } = names(i);
  const [locality, region, postalCode, country] = CITIES[i % CITIES.length]!;
  const mail = userName(i);
  const enterprise: Record<string, unknown> = {
    employeeNumber: serial(i),
    department: DEPARTMENTS[i % DEPARTMENTS.length],
    costCenter: `CC-${(i % 97) + 100}`,
    organization: 'Contoso',
    division: `Division ${(i % 5) + 1}`,
  };
  if (managerId !== undefined) enterprise['manager'] = { value: managerId };
  return JSON.stringify({
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId: guid(i),
    userName: mail,
    active: true,
    displayName: `${given} ${family}`,
    title: TITLES[i % TITLES.length],
    preferredLanguage: 'en-US',
    name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
    emails: [{ primary: true, type: 'work', value: mail }],
    phoneNumbers: [{ type: 'work', value: `+1 425 555 ${String(i % 10_000).padStart(4, '0')}` }],
    addresses: [{ type: 'work', primary: true, locality, region, postalCode, country }],
    [ENTERPRISE]: enterprise,
  });
}

/** The PATCH Entra sends when an HR attribute changes (the shape from the issue), varied by `i`. */
export function userPatchBody(i: number): string {
  const { given, family } = names(i + 7);
  return JSON.stringify({
    schemas: [PATCH_OP],
    Operations: [
      { op: 'Replace', path: 'displayName', value: `${given} ${family} (${i})` },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: `${given}.${family}.${i}@contoso.example`.toLowerCase() },
      { op: 'Replace', path: 'name.givenName', value: given },
      { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '42' },
    ],
  });
}

/** Group `g` as Entra creates it; `memberIds` may be empty (Entra then adds members by PATCH). */
export function groupBody(g: number, memberIds: readonly string[]): string {
  return JSON.stringify({
    schemas: [GROUP_SCHEMA],
    externalId: guid(g, 1),
    displayName: `${DEPARTMENTS[g % DEPARTMENTS.length]} team ${String(g).padStart(4, '0')}`,
    members: memberIds.map((value) => ({ value })),
  });
}

/** `{"op":"add","path":"members","value":[…]}` with every id in one operation. */
export function addMembersBody(memberIds: readonly string[]): string {
  return JSON.stringify({
    schemas: [PATCH_OP],
    Operations: [{ op: 'add', path: 'members', value: memberIds.map((value) => ({ value })) }],
  });
}

/** A BulkRequest creating users `first … first+count-1`. */
export function bulkCreateBody(first: number, count: number, managerId?: string): string {
  const operations: string[] = [];
  for (let k = 0; k < count; k++) {
    const i = first + k;
    operations.push(`{"method":"POST","path":"/Users","bulkId":"u${i}","data":${userBody(i, managerId)}}`);
  }
  return `{"schemas":["${BULK_REQUEST}"],"Operations":[${operations.join(',')}]}`;
}

/** A small, seeded PRNG (mulberry32), so every run asks for the same users in the same order. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
