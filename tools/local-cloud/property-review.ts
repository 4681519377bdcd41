import type { LocalResource } from './types';
import { NOT_EMULATED_PROPERTY_GROUPS, PROPERTY_RULES, type NotEmulatedGroup } from './property-rules';

/** Reviews a template's properties against PROPERTY_RULES: start-up lines, warnings, and the refusal that stops the start. */

/** One property that runs differently locally, or that the local cloud refuses. */
export interface PropertyFinding {
  logicalId: string;
  type: string;
  property: string;
  value: unknown;
  reason: string;
}

export interface PropertyReview {
  /** Property names by not-emulated group, in the order the template uses them. */
  notEmulated: Map<NotEmulatedGroup, Set<string>>;
  warnings: PropertyFinding[];
  /** Properties of a created or run type that the local cloud does not know: listed, not dropped. */
  unknown: PropertyFinding[];
  refused: PropertyFinding[];
}

/** Sorts every property of the types the local cloud creates or runs (see PROPERTY_RULES). */
export function reviewProperties(resources: LocalResource[]): PropertyReview {
  const review: PropertyReview = { notEmulated: new Map(), warnings: [], unknown: [], refused: [] };
  for (const resource of resources) {
    const rules = PROPERTY_RULES[resource.type];
    if (!rules) continue;
    for (const [property, value] of Object.entries(resource.properties)) {
      const finding = (reason: string, at = property): PropertyFinding => ({ logicalId: resource.logicalId, type: resource.type, property: at, value, reason });
      const rule = rules[property];
      if (rule === undefined) {
        review.unknown.push(finding('not read locally'));
        continue;
      }
      const verdicts = typeof rule === 'function' ? [rule(value)].flat() : [rule];
      for (const verdict of verdicts) {
        if (verdict === 'honoured' || verdict === 'metadata') continue;
        if (typeof verdict === 'string' || 'group' in verdict) {
          const group = typeof verdict === 'string' ? verdict : verdict.group;
          const names = review.notEmulated.get(group) ?? new Set<string>();
          names.add(typeof verdict === 'string' ? property : verdict.property);
          review.notEmulated.set(group, names);
        } else if ('warn' in verdict) review.warnings.push(finding(verdict.warn, verdict.property));
        else review.refused.push(finding(verdict.refuse, verdict.property));
      }
    }
  }
  return review;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Start-up lines for the review: one per not-emulated group, one per warning. */
export function describePropertyReview(review: PropertyReview): { notEmulated: string[]; warnings: string[] } {
  const notEmulated = [...review.notEmulated].map(([group, names]) => {
    const { title, effect } = NOT_EMULATED_PROPERTY_GROUPS[group];
    return `  ${title} (${[...names].join(', ')}): ${effect}`;
  });
  const warnings = review.warnings.map((w) => `  ${w.logicalId}.${w.property} (${w.type}): ${w.reason}`);
  if (review.unknown.length > 0) {
    warnings.push(`  not read locally, ignored: ${review.unknown.map((u) => `${u.logicalId}.${u.property}`).join(', ')}`);
  }
  return { notEmulated, warnings };
}

export class RefusedPropertiesError extends Error {
  constructor(readonly refused: PropertyFinding[]) {
    super(
      [
        'The template sets properties the local cloud cannot run as AWS would:',
        ...refused.map((r) => `  ${r.logicalId}.${r.property} = ${describeValue(r.value)} (${r.type}): ${r.reason}`),
      ].join('\n'),
    );
    this.name = 'RefusedPropertiesError';
  }
}

/** Throws when any resource sets a property that would make it behave differently locally. */
export function assertNoRefusedProperties(resources: LocalResource[]): void {
  const { refused } = reviewProperties(resources);
  if (refused.length > 0) throw new RefusedPropertiesError(refused);
}
