import type { AttributeDef, AttributeType } from '../../core/attribute.js';

type Options = Partial<Omit<AttributeDef, 'name' | 'type'>>;

/** RFC 7643 §2.2 defaults, so each definition states only what differs from them. */
export function attr(name: string, type: AttributeType, description: string, options: Options = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...(type === 'reference' ? { caseExact: true } : {}),
    ...options,
  };
}

export function complex(
  name: string,
  description: string,
  subAttributes: readonly AttributeDef[],
  options: Options = {},
): AttributeDef {
  return attr(name, 'complex', description, { ...options, subAttributes });
}

/** The usual `value/display/type/primary` shape of RFC 7643 multi-valued attributes. */
export function multiValued(
  name: string,
  description: string,
  valueType: AttributeType,
  types: readonly string[],
  extra: readonly AttributeDef[] = [],
): AttributeDef {
  return complex(
    name,
    description,
    [
      attr('value', valueType, `the value of the ${name} entry`, valueType === 'reference' ? { referenceTypes: ['external'] } : {}),
      attr('display', 'string', 'a human-readable name, primarily used for display purposes'),
      attr('type', 'string', `a label indicating the ${name} entry's function`, { canonicalValues: types }),
      attr('primary', 'boolean', `whether this is the primary ${name} entry`),
      ...extra,
    ],
    { multiValued: true },
  );
}
