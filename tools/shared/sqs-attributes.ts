/**
 * Message attributes as ReceiveMessage returns them carry list members (`StringListValues`,
 * `BinaryListValues`) that SendMessage refuses: keep the type and the value only. Used wherever a
 * message is moved by receive -> send (the CLI's redrive copy path, the local move tasks).
 */
export function sendableAttributes<T extends { DataType?: string; StringValue?: string; BinaryValue?: unknown }>(
  attributes: Record<string, T>,
): Record<string, Pick<T, 'DataType' | 'StringValue' | 'BinaryValue'>> {
  const out: Record<string, Pick<T, 'DataType' | 'StringValue' | 'BinaryValue'>> = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    } as Pick<T, 'DataType' | 'StringValue' | 'BinaryValue'>;
  }
  return out;
}
