/** API keys, usage plans and stage method settings: token-bucket throttling (429) and quotas, per key and per stage. */
import type { LocalResource } from '../types';
import type { RestApi, Route, Stage } from './routing';

export interface Throttle {
  rateLimit?: number;
  burstLimit?: number;
}

export interface Quota {
  limit: number;
  period: 'DAY' | 'WEEK' | 'MONTH';
}

export interface UsagePlan {
  id: string;
  throttle?: Throttle;
  quota?: Quota;
  /** `<restApiId>/<stageName>` -> per-method throttles by `<resourcePath>/<METHOD>`. */
  stages: Map<string, Map<string, Throttle>>;
}

export interface ApiKey {
  id: string;
  value: string;
  enabled: boolean;
  planIds: string[];
}

/** Why a request is refused before its integration runs: the gateway response type. */
export type Refusal = 'INVALID_API_KEY' | 'THROTTLED' | 'QUOTA_EXCEEDED';

/** The API-key check, throttles and quotas of the template's usage plans and stages, with their state. */
export function createUsageLimits(resources: LocalResource[]) {
  const plans = readUsagePlans(resources);
  const keys = readApiKeys(resources);
  const buckets = new Map<string, TokenBucket>();
  const quotaUse = new Map<string, { period: number; used: number }>();

  function bucket(id: string, throttle: Throttle | undefined): TokenBucket | undefined {
    if (throttle?.rateLimit === undefined && throttle?.burstLimit === undefined) return undefined;
    let found = buckets.get(id);
    if (!found) {
      found = new TokenBucket(throttle.rateLimit ?? Number.POSITIVE_INFINITY, throttle.burstLimit ?? throttle.rateLimit ?? 0);
      buckets.set(id, found);
    }
    return found;
  }

  function withinQuota(key: ApiKey, plan: UsagePlan): boolean {
    if (!plan.quota) return true;
    const period = periodIndex(plan.quota.period, new Date());
    const id = `${plan.id}/${key.id}`;
    const use = quotaUse.get(id);
    const current = use && use.period === period ? use : { period, used: 0 };
    if (current.used >= plan.quota.limit) return false;
    current.used += 1;
    quotaUse.set(id, current);
    return true;
  }

  /**
   * Admits a request to a route or names the refusal: the API key (when the method requires one),
   * the key's usage-plan throttle (per method when the plan sets one) and quota, then the stage's throttle.
   */
  function admit(api: RestApi, stage: Stage, route: Route, presentedKey: string | undefined): { apiKey: ApiKey | undefined } | { refusal: Refusal } {
    let apiKey: ApiKey | undefined;
    if (route.apiKeyRequired) {
      const stageKey = `${api.restApiId}/${stage.stageName}`;
      apiKey = keys.find(
        (key) => key.enabled && key.value === presentedKey && key.planIds.some((planId) => plans.get(planId)?.stages.has(stageKey)),
      );
      if (!apiKey) return { refusal: 'INVALID_API_KEY' };
      const plan = apiKey.planIds.map((planId) => plans.get(planId)).find((candidate) => candidate?.stages.has(stageKey))!;
      const methodKey = `${route.resourcePath}/${route.httpMethod}`;
      const methodThrottle = plan.stages.get(stageKey)?.get(methodKey);
      const keyBucket = methodThrottle
        ? bucket(`plan:${plan.id}/${apiKey.id}/${stageKey}${methodKey}`, methodThrottle)
        : bucket(`plan:${plan.id}/${apiKey.id}`, plan.throttle);
      if (keyBucket && !keyBucket.take()) return { refusal: 'THROTTLED' };
      if (!withinQuota(apiKey, plan)) return { refusal: 'QUOTA_EXCEEDED' };
    }
    const stageThrottleKey = `${route.resourcePath}/${route.httpMethod}`;
    const stageThrottle = stage.methodThrottles.get(stageThrottleKey) ?? stage.methodThrottles.get('/*/*');
    const stageBucket = bucket(`stage:${api.restApiId}/${stage.stageName}/${stage.methodThrottles.has(stageThrottleKey) ? stageThrottleKey : '*'}`, stageThrottle);
    if (stageBucket && !stageBucket.take()) return { refusal: 'THROTTLED' };
    return { apiKey };
  }

  return { admit };
}

function readUsagePlans(resources: LocalResource[]): Map<string, UsagePlan> {
  const plans = new Map<string, UsagePlan>();
  for (const resource of resources.filter((r) => r.type === 'AWS::ApiGateway::UsagePlan')) {
    const props = resource.properties;
    const stages = new Map<string, Map<string, Throttle>>();
    for (const apiStage of (props.ApiStages as Array<{ ApiId?: unknown; Stage?: unknown; Throttle?: Record<string, unknown> }>) ?? []) {
      const perMethod = new Map<string, Throttle>();
      for (const [methodKey, throttle] of Object.entries(apiStage.Throttle ?? {})) {
        const parsed = throttleOf(throttle);
        if (parsed) perMethod.set(methodKey, parsed);
      }
      stages.set(`${String(apiStage.ApiId)}/${String(apiStage.Stage)}`, perMethod);
    }
    const quota = props.Quota as { Limit?: unknown; Period?: unknown } | undefined;
    const throttle = throttleOf(props.Throttle);
    plans.set(resource.ref, {
      id: resource.ref,
      ...(throttle ? { throttle } : {}),
      ...(quota?.Limit !== undefined ? { quota: { limit: Number(quota.Limit), period: (String(quota.Period ?? 'DAY') as Quota['period']) } } : {}),
      stages,
    });
  }
  return plans;
}

function readApiKeys(resources: LocalResource[]): ApiKey[] {
  const planKeys = resources.filter((r) => r.type === 'AWS::ApiGateway::UsagePlanKey');
  return resources
    .filter((r) => r.type === 'AWS::ApiGateway::ApiKey')
    .map((resource) => ({
      id: resource.ref,
      value: typeof resource.properties.Value === 'string' ? resource.properties.Value : (resource.attributes.Value ?? ''),
      enabled: resource.properties.Enabled !== false && resource.properties.Enabled !== 'false',
      planIds: planKeys.filter((planKey) => planKey.properties.KeyId === resource.ref).map((planKey) => String(planKey.properties.UsagePlanId)),
    }))
    .filter((key) => key.value !== '');
}

export function throttleOf(value: unknown): Throttle | undefined {
  const raw = value as { RateLimit?: unknown; BurstLimit?: unknown } | undefined;
  if (!raw) return undefined;
  const throttle: Throttle = {};
  if (raw.RateLimit !== undefined && raw.RateLimit !== null) throttle.rateLimit = Number(raw.RateLimit);
  if (raw.BurstLimit !== undefined && raw.BurstLimit !== null) throttle.burstLimit = Number(raw.BurstLimit);
  return throttle.rateLimit === undefined && throttle.burstLimit === undefined ? undefined : throttle;
}

/** API Gateway's throttling: a bucket of `burst` tokens refilled at `rate` per second. */
class TokenBucket {
  private tokens: number;
  private updated = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.rate);
    this.updated = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function periodIndex(period: Quota['period'], date: Date): number {
  if (period === 'MONTH') return date.getUTCFullYear() * 12 + date.getUTCMonth();
  const day = Math.floor(date.getTime() / 86_400_000);
  // Epoch day 0 was a Thursday; weeks start on Monday as in usage-plan quotas.
  return period === 'WEEK' ? Math.floor((day + 3) / 7) : day;
}
