/** RFC 7644 §3.5.2 PATCH: `applyPatch` for any message, `memberDelta` for the member-only fast path. */
export { applyPatch, type PatchInput, type PatchResult } from './apply-patch.js';
export { memberDelta, type MemberDelta } from './member-delta.js';
