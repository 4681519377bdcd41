/**
 * What every sink stores exactly (contract §1: `valid: true` means storable). DynamoDB keeps 38
 * significant digits with magnitudes from 1e-130 to below 1e126 and refuses anything else (an
 * underflow such as 5e-324 is an error, not a zero); the SQL sink's NUMERIC columns keep any
 * decimal, and its INTEGER columns 32-bit integers. The schemas bound every numeric field to a
 * range and precision inside all of these, and the enrichment computes derived amounts in
 * integers, so a valid event is never refused when it is stored.
 */

export const NUMBER_LIMITS = {
  /** price: at most this many decimal places (ten-thousandths). */
  priceDecimals: 4,
  priceMax: 1_000_000,
  /** total_amount: price x quantity to the cent, so at most priceMax x quantityMax. */
  amountDecimals: 2,
  quantityMax: 1_000,
  /** DynamoDB's number type. */
  dynamoMaxSignificantDigits: 38,
  dynamoMinMagnitude: 1e-130,
  /** Exclusive: DynamoDB's largest number is 9.99...9e125. */
  dynamoMaxMagnitude: 1e126,
} as const;

/** The decimal digits of a finite number as JSON writes it: `digits` x 10^-scale, digits >= 0. */
export function decimalOf(value: number): { digits: bigint; scale: number; negative: boolean } {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const [mantissa = '0', exponentText = '0'] = Math.abs(value).toString().split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  return { digits: BigInt(whole + fraction), scale: fraction.length - Number(exponentText), negative: value < 0 };
}

/**
 * Decimal places of the number as written in JSON (its shortest round-trip form):
 * 0.0001 has 4, 5e-324 has 324, 1e126 has 0. Infinite for NaN and the infinities.
 */
export function decimalPlaces(value: number): number {
  if (!Number.isFinite(value)) return Number.POSITIVE_INFINITY;
  return Math.max(0, decimalOf(value).scale);
}

/** Significant digits of the number as written in JSON (12.50 is 125: 3). */
export function significantDigits(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value === 0 ? 1 : Number.POSITIVE_INFINITY;
  return decimalOf(value).digits.toString().replace(/0+$/, '').length;
}

/** Whether DynamoDB stores this number exactly (and does not refuse it). */
export function isDynamoStorable(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const magnitude = Math.abs(value);
  if (magnitude === 0) return true;
  return (
    magnitude >= NUMBER_LIMITS.dynamoMinMagnitude &&
    magnitude < NUMBER_LIMITS.dynamoMaxMagnitude &&
    significantDigits(value) <= NUMBER_LIMITS.dynamoMaxSignificantDigits
  );
}
