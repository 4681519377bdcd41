/**
 * The SQS query protocol (form-encoded `Action=...`, XML responses), which older SDKs and CLIs
 * speak, translated to and from the JSON protocol fauxqs implements.
 */

export const SQS_ACTIONS = new Set([
  'CreateQueue',
  'DeleteQueue',
  'GetQueueUrl',
  'ListQueues',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'PurgeQueue',
  'SendMessage',
  'ReceiveMessage',
  'DeleteMessage',
  'SendMessageBatch',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'TagQueue',
  'UntagQueue',
  'ListQueueTags',
  'StartMessageMoveTask',
  'ListMessageMoveTasks',
  'CancelMessageMoveTask',
]);

const INTEGER_FIELDS = new Set(['DelaySeconds', 'MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'MaxResults', 'MaxNumberOfMessagesPerSecond']);

/** Query members that become JSON lists under another name. */
const LIST_NAMES: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
};

type Tree = { [key: string]: Tree | string };

/** `a.1.b=x` -> { a: { '1': { b: 'x' } } } */
function toTree(params: URLSearchParams): Tree {
  const root: Tree = {};
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) node[part] = value;
      else {
        const next = node[part];
        if (typeof next === 'object') node = next;
        else node = node[part] = {};
      }
    });
  }
  return root;
}

/** Numbered members in order; scalar lists (`AttributeName.1=All`) give strings. */
function members(node: Tree | string | undefined): Array<Tree | string> {
  if (node === undefined || typeof node === 'string') return [];
  return Object.keys(node)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => node[key]!);
}

function attributeMap(node: Tree | string | undefined, keyField: string, valueField: string): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const entry of members(node)) {
    if (typeof entry === 'string') continue;
    const key = entry[keyField];
    if (typeof key === 'string') map[key] = entry[valueField];
  }
  return map;
}

function messageAttributes(node: Tree | string | undefined): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const entry of members(node)) {
    if (typeof entry === 'string') continue;
    const name = entry.Name;
    const value = entry.Value;
    if (typeof name === 'string' && typeof value === 'object') map[name] = { ...value };
  }
  return map;
}

function convert(tree: Tree, action: string): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tree)) {
    if (key === 'Action' || key === 'Version') continue;
    if (key === 'Attribute') json.Attributes = attributeMap(value, 'Name', 'Value');
    else if (key === 'MessageAttribute') json.MessageAttributes = messageAttributes(value);
    else if (key === 'MessageSystemAttribute') json.MessageSystemAttributes = messageAttributes(value);
    else if (key === 'Tag') json[action === 'CreateQueue' ? 'tags' : 'Tags'] = attributeMap(value, 'Key', 'Value');
    else if (key in LIST_NAMES) {
      json[LIST_NAMES[key]!] = members(value).map((item) => (typeof item === 'string' ? item : convert(item, action)));
    } else if (typeof value === 'string') {
      json[key] = INTEGER_FIELDS.has(key) ? Number(value) : value;
    } else json[key] = convert(value, action);
  }
  return json;
}

/** Form parameters to the JSON request body; a queue-URL path supplies QueueUrl when absent. */
export function queryToJson(params: URLSearchParams, queueUrlFromPath?: string): { action: string; body: Record<string, unknown> } {
  const action = params.get('Action') ?? '';
  const body = convert(toTree(params), action);
  if (body.QueueUrl === undefined && queueUrlFromPath !== undefined && action !== 'ListQueues' && action !== 'CreateQueue' && action !== 'GetQueueUrl') {
    body.QueueUrl = queueUrlFromPath;
  }
  return { action, body };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"\r]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;', '\r': '&#xD;' })[c]!);
}

function element(name: string, value: unknown, action: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return `<${name}>${escapeXml(String(value))}</${name}>`;
  return `<${name}>${fields(value as Record<string, unknown>, action)}</${name}>`;
}

/** Query responses flatten lists and write maps as Name/Value (or Key/Value) entries. */
function fields(json: Record<string, unknown>, action: string): string {
  let xml = '';
  for (const [key, value] of Object.entries(json)) {
    if (key === 'Attributes' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, v] of Object.entries(value)) xml += `<Attribute><Name>${escapeXml(name)}</Name><Value>${escapeXml(String(v))}</Value></Attribute>`;
    } else if (key === 'MessageAttributes' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, v] of Object.entries(value)) xml += `<MessageAttribute><Name>${escapeXml(name)}</Name>${element('Value', v, action)}</MessageAttribute>`;
    } else if (key === 'Tags' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, v] of Object.entries(value)) xml += `<Tag><Key>${escapeXml(name)}</Key><Value>${escapeXml(String(v))}</Value></Tag>`;
    } else if (Array.isArray(value)) {
      const itemName =
        key === 'QueueUrls' ? 'QueueUrl'
        : key === 'Messages' ? 'Message'
        : key === 'Successful' ? `${action}ResultEntry`
        : key === 'Failed' ? 'BatchResultErrorEntry'
        : key === 'Results' ? `${action}ResultEntry`
        : key.replace(/s$/, '');
      for (const item of value) xml += element(itemName, item, action);
    } else xml += element(key, value, action);
  }
  return xml;
}

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

export function jsonToQueryXml(action: string, json: Record<string, unknown>, requestId: string): string {
  return (
    `<?xml version="1.0"?><${action}Response xmlns="${NAMESPACE}"><${action}Result>${fields(json, action)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** A JSON-protocol error to the query protocol's ErrorResponse (code from x-amzn-query-error when given). */
export function errorToQueryXml(json: Record<string, unknown>, queryErrorHeader: string | undefined, requestId: string): string {
  const [headerCode, headerType] = (queryErrorHeader ?? '').split(';');
  const type = String(json.__type ?? 'InternalError');
  const code = headerCode || type.slice(type.lastIndexOf('#') + 1);
  const message = String(json.message ?? json.Message ?? '');
  return (
    `<?xml version="1.0"?><ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${escapeXml(headerType || 'Sender')}</Type>` +
    `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><Detail/></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
