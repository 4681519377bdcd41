/** Shared setup of the validateEvent tests: the receipt time, validate at that time, the sample of each version, time offsets. */
import { validateEvent } from '../../../lambdas/shared/events';
import { SAMPLE_RECEIVED_AT, sampleEventV1, sampleEventV2, sampleEventV3 } from '../../fixtures/events';

export const at = SAMPLE_RECEIVED_AT;
export const validate = (event: unknown) => validateEvent(event, at);
export const samples = { 1: sampleEventV1, 2: sampleEventV2, 3: sampleEventV3 } as const;
export const versions = [1, 2, 3] as const;
export const MINUTE = 60_000;
export const DAY = 86_400_000;
export const isoOffsetFromReceipt = (ms: number) => new Date(at.getTime() + ms).toISOString();
