import type { Field, SqlParameter } from '@aws-sdk/client-rds-data';

/**
 * The RDS Data API's statement and result shapes over PGlite: named parameters (`:name`) to
 * positional ones with the type the Data API binds (strings as varchar unless a typeHint says
 * otherwise, so an untyped string into a timestamptz column fails as on Aurora), and PostgreSQL's
 * text results to Data API fields, column metadata and JSON records.
 */

export class DataApiRequestError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TYPE_HINT_CASTS: Record<string, string> = {
  DECIMAL: 'numeric',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
  TIME: 'time',
  UUID: 'uuid',
  JSON: 'json',
};

interface Positional {
  text: string;
  values: unknown[];
}

function bindingOf(parameter: SqlParameter): { cast: string | undefined; value: unknown } {
  const hint = parameter.typeHint ? TYPE_HINT_CASTS[parameter.typeHint] : undefined;
  if (parameter.typeHint && !hint) throw new DataApiRequestError('BadRequestException', `Invalid typeHint: ${parameter.typeHint}`);
  const value = (parameter.value ?? {}) as Record<string, unknown>;
  if (value.isNull === true) return { cast: hint, value: null };
  if (typeof value.stringValue === 'string') return { cast: hint ?? 'varchar', value: value.stringValue };
  if (typeof value.longValue === 'number') return { cast: 'bigint', value: String(value.longValue) };
  if (typeof value.doubleValue === 'number') return { cast: 'float8', value: String(value.doubleValue) };
  if (typeof value.booleanValue === 'boolean') return { cast: 'boolean', value: value.booleanValue };
  if (typeof value.blobValue === 'string' || value.blobValue instanceof Uint8Array) {
    return { cast: 'bytea', value: typeof value.blobValue === 'string' ? Buffer.from(value.blobValue, 'base64') : value.blobValue };
  }
  if (value.arrayValue !== undefined) throw new DataApiRequestError('BadRequestException', 'Array parameters are not supported.');
  throw new DataApiRequestError('BadRequestException', `Parameter ${String(parameter.name)} has no value`);
}

/** `:name` placeholders (outside quotes, comments and `::` casts) to `$n`, values in order. */
export function toPositional(sql: string, parameters: readonly SqlParameter[] = []): Positional {
  const byName = new Map<string, SqlParameter>();
  for (const parameter of parameters) {
    if (!parameter.name) throw new DataApiRequestError('BadRequestException', 'A parameter has no name');
    byName.set(parameter.name, parameter);
  }
  const positions = new Map<string, number>();
  const values: unknown[] = [];
  let text = '';
  let i = 0;
  const copyUntil = (end: number) => {
    text += sql.slice(i, end);
    i = end;
  };
  while (i < sql.length) {
    const rest = sql.slice(i);
    const char = sql[i]!;
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      copyUntil(end === -1 ? sql.length : end);
    } else if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      copyUntil(end === -1 ? sql.length : end + 2);
    } else if (char === "'" || char === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === char && sql[j + 1] !== char)) j += sql[j] === char ? 2 : 1;
      copyUntil(Math.min(sql.length, j + 1));
    } else if (/^\$[A-Za-z_]*\$/.test(rest)) {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)![0];
      const end = sql.indexOf(tag, i + tag.length);
      copyUntil(end === -1 ? sql.length : end + tag.length);
    } else if (rest.startsWith('::')) {
      copyUntil(i + 2);
    } else if (char === ':' && /^:[A-Za-z_][A-Za-z0-9_]*/.test(rest)) {
      const name = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest)![1]!;
      const parameter = byName.get(name);
      if (!parameter) throw new DataApiRequestError('BadRequestException', `No value specified for parameter: ${name}`);
      let position = positions.get(name);
      const binding = bindingOf(parameter);
      if (position === undefined) {
        values.push(binding.value);
        position = values.length;
        positions.set(name, position);
      }
      text += binding.cast ? `$${position}::${binding.cast}` : `$${position}`;
      i += name.length + 1;
    } else {
      copyUntil(i + 1);
    }
  }
  return { text, values };
}

interface TypeInfo {
  name: string;
  /** java.sql.Types, as the Data API's columnMetadata.type reports it. */
  jdbc: number;
  kind: 'long' | 'double' | 'bool' | 'string' | 'timestamptz';
}

const TYPES: Record<number, TypeInfo> = {
  16: { name: 'bool', jdbc: -7, kind: 'bool' },
  20: { name: 'int8', jdbc: -5, kind: 'long' },
  21: { name: 'int2', jdbc: 5, kind: 'long' },
  23: { name: 'int4', jdbc: 4, kind: 'long' },
  26: { name: 'oid', jdbc: -5, kind: 'long' },
  25: { name: 'text', jdbc: 12, kind: 'string' },
  114: { name: 'json', jdbc: 1111, kind: 'string' },
  700: { name: 'float4', jdbc: 7, kind: 'double' },
  701: { name: 'float8', jdbc: 8, kind: 'double' },
  1042: { name: 'bpchar', jdbc: 1, kind: 'string' },
  1043: { name: 'varchar', jdbc: 12, kind: 'string' },
  1082: { name: 'date', jdbc: 91, kind: 'string' },
  1083: { name: 'time', jdbc: 92, kind: 'string' },
  1114: { name: 'timestamp', jdbc: 93, kind: 'string' },
  1184: { name: 'timestamptz', jdbc: 93, kind: 'timestamptz' },
  1186: { name: 'interval', jdbc: 1111, kind: 'string' },
  1700: { name: 'numeric', jdbc: 2, kind: 'string' },
  2950: { name: 'uuid', jdbc: 1111, kind: 'string' },
  3802: { name: 'jsonb', jdbc: 1111, kind: 'string' },
  5069: { name: 'xid8', jdbc: 1111, kind: 'string' },
};
const typeOf = (oid: number): TypeInfo => TYPES[oid] ?? { name: `oid:${oid}`, jdbc: 1111, kind: 'string' };

/** Leave every value as PostgreSQL's text: the conversion below is the Data API's, not PGlite's. */
export const TEXT_PARSERS: Record<number, (text: string) => string> = Object.fromEntries(
  [...Object.keys(TYPES).map(Number), 1000, 1005, 1007, 1009, 1016, 1021, 1022, 1231, 1015].map((oid) => [oid, (text: string) => text]),
);

/** The session's TimeZone is UTC: a timestamptz reads `2026-11-22 10:00:00.123+00`; the Data API drops the offset. */
const withoutUtcOffset = (text: string) => text.replace(/\+00(?::00)?$/, '');

export function fieldOf(text: unknown, oid: number): Field {
  if (text === null || text === undefined) return { isNull: true };
  const raw = String(text);
  switch (typeOf(oid).kind) {
    case 'long':
      return { longValue: Number(raw) };
    case 'double':
      return { doubleValue: Number(raw) };
    case 'bool':
      return { booleanValue: raw === 't' || raw === 'true' };
    case 'timestamptz':
      return { stringValue: withoutUtcOffset(raw) };
    default:
      return { stringValue: raw };
  }
}

export function jsonValueOf(text: unknown, oid: number): unknown {
  const field = fieldOf(text, oid);
  if (field.isNull) return null;
  return field.longValue ?? field.doubleValue ?? field.booleanValue ?? field.stringValue;
}

export function columnMetadataOf(fields: ReadonlyArray<{ name: string; dataTypeID: number }>): object[] {
  return fields.map((field) => {
    const type = typeOf(field.dataTypeID);
    return {
      name: field.name,
      label: field.name,
      typeName: type.name,
      type: type.jdbc,
      nullable: 2,
      isSigned: type.kind === 'long' || type.kind === 'double' || type.name === 'numeric',
      isAutoIncrement: false,
      isCaseSensitive: type.kind === 'string',
      isCurrency: false,
      precision: 0,
      scale: 0,
      arrayBaseColumnType: 0,
      schemaName: '',
      tableName: '',
    };
  });
}
