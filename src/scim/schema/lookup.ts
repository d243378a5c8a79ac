import type { AttributeDef, ResourceTypeDef } from '../../core/attribute.js';
import { COMMON_ATTRIBUTES } from './common-attributes.js';

export interface TopAttribute {
  /** URN of the schema that defines the attribute; common attributes count as the core schema's. */
  readonly schema: string;
  readonly def: AttributeDef;
  /** Whether the attribute lives in an extension, i.e. under `doc[schema]` rather than at the top. */
  readonly extension: boolean;
}

/**
 * Finds a top-level attribute of a resource type. Names are case-insensitive (RFC 7643 §2.1).
 * Without `uri`, the core schema and the common attributes are searched first, then the
 * extensions, so `department` alone finds the enterprise attribute when nothing in core is named so.
 */
export function findTopAttribute(rt: ResourceTypeDef, uri: string | undefined, name: string): TopAttribute | undefined {
  const lower = name.toLowerCase();
  if (uri === undefined || uri.toLowerCase() === rt.schema.id.toLowerCase()) {
    const common = COMMON_ATTRIBUTES.find((a) => a.name.toLowerCase() === lower);
    if (common) return { schema: rt.schema.id, def: common, extension: false };
    const core = rt.schema.attributes.find((a) => a.name.toLowerCase() === lower);
    if (core) return { schema: rt.schema.id, def: core, extension: false };
    if (uri !== undefined) return undefined;
  }
  for (const ext of rt.extensions) {
    if (uri !== undefined && uri.toLowerCase() !== ext.schema.id.toLowerCase()) continue;
    const def = ext.schema.attributes.find((a) => a.name.toLowerCase() === lower);
    if (def) return { schema: ext.schema.id, def, extension: true };
  }
  return undefined;
}

export function findSubAttribute(parent: AttributeDef, name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return parent.subAttributes?.find((a) => a.name.toLowerCase() === lower);
}

/** The extension schema a URN names (case-insensitive), if the resource type has it. */
export function findExtension(rt: ResourceTypeDef, uri: string): ResourceTypeDef['extensions'][number] | undefined {
  const lower = uri.toLowerCase();
  return rt.extensions.find((e) => e.schema.id.toLowerCase() === lower);
}
