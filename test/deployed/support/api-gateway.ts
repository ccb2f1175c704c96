import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { readBody } from '../../integration/support/request-body';
import type { ApiRoute, DeployedTemplate, PolicyDocument } from './deployed-template';

/** A principal that may sign requests: its secret key and who it is. */
export interface ApiCaller {
  readonly secretAccessKey: string;
  /**
   * The caller's ARN as API Gateway reports it (`requestContext.identity.userArn`): an IAM user
   * or role ARN, or an STS assumed-role session ARN.
   */
  readonly arn: string;
  /**
   * `aws:PrincipalArn` in the resource policy. @default for an assumed-role session, its role
   * (`arn:aws:iam::<account>:role/<name>`, no path: give it when the role has one); else `arn`
   */
  readonly principalArn?: string;
  /** Required in `X-Amz-Security-Token` when set (temporary credentials). */
  readonly sessionToken?: string;
}

/** What a Lambda invocation answered: its payload, and Lambda's `FunctionError` when it failed. */
export interface Invocation {
  readonly payload: unknown;
  readonly functionError?: string;
}

export interface ApiGatewayOptions {
  readonly template: DeployedTemplate;
  /** Invokes a function of the template (by logical id) with an event, as Lambda would. */
  readonly invoke: (functionLogicalId: string, event: APIGatewayProxyEvent) => Promise<Invocation>;
  /** Access key id → the caller it belongs to. */
  readonly callers: Readonly<Record<string, ApiCaller>>;
  /** @default a fixed id derived from the API's logical id */
  readonly apiId?: string;
}

export interface EmulatedApiGateway {
  /** `http://127.0.0.1:<port>/<stage>/`, as the invoke URL `https://<id>.execute-api.<region>.amazonaws.com/<stage>/`. */
  readonly url: string;
  readonly apiId: string;
  readonly region: string;
  close(): Promise<void>;
}

const SIGNATURE_SKEW_MS = 5 * 60 * 1000;

/**
 * An emulation of the template's REST API: its resources and methods, IAM authorization
 * (SigV4 for `execute-api` in the template's region, checked against `callers`), its resource
 * policy, and the Lambda proxy integration (the v1 event, the proxy result mapped back).
 * Answers API Gateway's own errors (status, `x-amzn-ErrorType`, body) where it refuses.
 */
export async function startApiGateway(options: ApiGatewayOptions): Promise<EmulatedApiGateway> {
  const { template } = options;
  const { region, accountId, partition } = template.pseudoParameters;
  const apiId = options.apiId ?? shortId(template.restApi.logicalId, 10);
  const stage = template.restApi.stageName;
  // Checked once, at start: a policy element the evaluator does not understand refuses to run.
  const policy = template.restApi.policy === undefined ? undefined : checkedPolicy(template.restApi.policy);
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Not an API Gateway answer: the emulator itself failed, and says so.
      send(response, 500, { 'x-emulator-error': 'true' }, JSON.stringify({ emulatorError: String(error) }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestTimeEpoch = Date.now();
    const requestId = randomUUID();
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://emulator');
    const rawPath = url.pathname;
    const stagePrefix = `/${stage}`;
    const fail = (status: number, errorType: string, message: object) =>
      send(
        response,
        status,
        { 'x-amzn-ErrorType': errorType, 'x-amzn-RequestId': requestId, 'content-type': 'application/json' },
        JSON.stringify(message),
      );
    if (!(rawPath === stagePrefix || rawPath.startsWith(`${stagePrefix}/`))) {
      // No such stage: API Gateway answers 403 Forbidden for an unknown stage path.
      return fail(403, 'ForbiddenException', { message: 'Forbidden' });
    }
    const path = rawPath.slice(stagePrefix.length) || '/';
    const method = request.method ?? 'GET';
    const match = matchRoute(template.apiRoutes, method, path);
    if (match === undefined) {
      // An unknown resource or method is MISSING_AUTHENTICATION_TOKEN (403), not a 404 or 405.
      return fail(403, 'MissingAuthenticationTokenException', { message: 'Missing Authentication Token' });
    }
    const { route, pathParameters } = match;
    const headers = headerLists(request.rawHeaders);
    let identity: CallerIdentity | undefined;
    if (route.authorizationType === 'AWS_IAM') {
      const verdict = await verifySignature(method, url, headers, body, options.callers, region);
      if (!verdict.ok) return fail(403, verdict.errorType, { message: verdict.message });
      identity = verdict.identity;
      const resourceArn = `arn:${partition}:execute-api:${region}:${accountId}:${apiId}/${stage}/${method}${path}`;
      const decision =
        policy === undefined ? 'allow' : evaluatePolicy(policy, identity, resourceArn, apiPrefix());
      if (decision !== 'allow') {
        const why =
          decision === 'deny'
            ? 'with an explicit deny'
            : 'because no resource-based policy allows the execute-api:Invoke action';
        return fail(403, 'AccessDeniedException', {
          Message: `User: ${identity.arn} is not authorized to perform: execute-api:Invoke on resource: ${resourceArn} ${why}`,
        });
      }
    } else if (route.authorizationType !== 'NONE') {
      throw new Error(`authorization type ${route.authorizationType} is not emulated`);
    }
    const event = proxyEvent({
      route,
      method,
      path,
      url,
      headers,
      body,
      pathParameters,
      identity,
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      requestId,
      requestTimeEpoch,
      apiId,
      stage,
      accountId,
      binary: template.restApi.binaryMediaTypes,
    });
    const invocation = await options.invoke(route.functionLogicalId, event);
    const result = proxyResult(invocation);
    if (result === undefined) {
      return fail(502, 'InternalServerErrorException', { message: 'Internal server error' });
    }
    send(response, result.statusCode, { 'x-amzn-RequestId': requestId, ...result.headers }, result.body);
  }

  function apiPrefix(): string {
    return `arn:${partition}:execute-api:${region}:${accountId}:${apiId}/`;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${stage}/`,
    apiId,
    region,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A stable, API-Gateway-looking id (lowercase letters and digits) for a logical id. */
function shortId(logicalId: string, length: number): string {
  return createHash('sha256').update(logicalId).digest('hex').slice(0, length);
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: string | Buffer,
): void {
  response.writeHead(status, headers);
  response.end(body);
}

/** Header name as sent → every value, in order (Node's rawHeaders keep the names' case). */
function headerLists(rawHeaders: string[]): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    const existing = [...lists.keys()].find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
    lists.set(existing, [...(lists.get(existing) ?? []), rawHeaders[index + 1] as string]);
  }
  return lists;
}

function header(headers: Map<string, string[]>, name: string): string | undefined {
  for (const [known, values] of headers) if (known.toLowerCase() === name) return values.join(',');
  return undefined;
}

/**
 * The method of the resource a path matches, as API Gateway matches: at each level a literal
 * part wins over `{param}`, which matches one segment; `{proxy+}` matches the rest (greedy).
 */
function matchRoute(
  routes: readonly ApiRoute[],
  method: string,
  path: string,
): { route: ApiRoute; pathParameters: Record<string, string> } | undefined {
  const segments = path.split('/').filter((segment, index) => index > 0 || segment !== '');
  const resources = [...new Set(routes.map((route) => route.resourcePath))].map((resourcePath) => ({
    resourcePath,
    parts: resourcePath === '/' ? [] : resourcePath.slice(1).split('/'),
  }));
  const candidates = resources
    .map(({ resourcePath, parts }) => ({ resourcePath, parameters: matchParts(parts, segments) }))
    .filter((candidate) => candidate.parameters !== undefined)
    .sort((a, b) => specificity(b.resourcePath).localeCompare(specificity(a.resourcePath)));
  const best = candidates[0];
  if (best === undefined) return undefined;
  const route =
    routes.find((r) => r.resourcePath === best.resourcePath && r.httpMethod === method) ??
    routes.find((r) => r.resourcePath === best.resourcePath && r.httpMethod === 'ANY');
  return route === undefined ? undefined : { route, pathParameters: best.parameters ?? {} };
}

/** Orders resources so literal parts sort before `{param}`, and `{param}` before `{proxy+}`. */
function specificity(resourcePath: string): string {
  return resourcePath
    .split('/')
    .map((part) => (part.endsWith('+}') ? '0' : part.startsWith('{') ? '1' : '2'))
    .join('');
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index];
    if (part.startsWith('{') && part.endsWith('+}')) {
      if (index !== parts.length - 1 || segment === undefined || segment === '') return undefined;
      parameters[part.slice(1, -2)] = decodeURIComponent(segments.slice(index).join('/'));
      return parameters;
    }
    if (segment === undefined || segment === '') return undefined;
    if (part.startsWith('{')) parameters[part.slice(1, -1)] = decodeURIComponent(segment);
    else if (part !== decodeURIComponent(segment)) return undefined;
  }
  return segments.length === parts.length ? parameters : undefined;
}

interface CallerIdentity {
  readonly accessKey: string;
  readonly arn: string;
  readonly principalArn: string;
  readonly accountId: string;
  /** `caller`/`user` of the event: the unique id, and `:<session>` for a role session. */
  readonly caller: string;
}

type SignatureVerdict =
  | { ok: true; identity: CallerIdentity }
  | { ok: false; errorType: string; message: string };

/**
 * Checks the request's `Authorization` header as API Gateway does for `AWS_IAM` methods: SigV4,
 * scoped to `execute-api` and the API's region, by a known access key, within 5 minutes, with
 * the signature recomputed (by `@smithy/signature-v4`) over the headers it names and the body.
 */
async function verifySignature(
  method: string,
  url: URL,
  headers: Map<string, string[]>,
  body: Buffer,
  callers: Readonly<Record<string, ApiCaller>>,
  region: string,
): Promise<SignatureVerdict> {
  const authorization = header(headers, 'authorization');
  if (authorization === undefined) {
    if (url.searchParams.has('X-Amz-Signature')) {
      throw new Error('query-string (presigned) SigV4 is not emulated');
    }
    return {
      ok: false,
      errorType: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    };
  }
  const incomplete = (message: string): SignatureVerdict => ({
    ok: false,
    errorType: 'IncompleteSignatureException',
    message,
  });
  const parsed =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      authorization.trim(),
    );
  if (parsed === null) {
    return incomplete(
      `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${authorization}`,
    );
  }
  const [, accessKey = '', day = '', scopeRegion, service, signedHeaderList = '', signature] = parsed;
  const amzDate = header(headers, 'x-amz-date');
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (service !== 'execute-api') {
    return {
      ok: false,
      errorType: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'execute-api'. ",
    };
  }
  if (scopeRegion !== region) {
    return {
      ok: false,
      errorType: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, not '${scopeRegion}'. `,
    };
  }
  const caller = callers[accessKey];
  if (caller === undefined) {
    return {
      ok: false,
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(Date.now() - signingDate.getTime()) > SIGNATURE_SKEW_MS) {
    return {
      ok: false,
      errorType: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier than the 5-minute window around the current time.`,
    };
  }
  const signedHeaders = signedHeaderList.split(';');
  const mismatch: SignatureVerdict = {
    ok: false,
    errorType: 'InvalidSignatureException',
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  };
  if (day !== amzDate.slice(0, 8) || !signedHeaders.includes('host')) return mismatch;
  if (caller.sessionToken !== undefined && header(headers, 'x-amz-security-token') !== caller.sessionToken) {
    return {
      ok: false,
      errorType: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const declaredHash = header(headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== bodyHash) return mismatch;
  const signedHeaderValues: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(headers, name);
    if (value === undefined) return mismatch;
    signedHeaderValues[name] = value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const known = query[name];
    query[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [known]), value];
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: {
      accessKeyId: accessKey,
      secretAccessKey: caller.secretAccessKey,
      ...(caller.sessionToken === undefined ? {} : { sessionToken: caller.sessionToken }),
    },
    sha256: Sha256,
    // execute-api is not S3: the path is escaped again and no payload-hash header is added.
    uriEscapePath: true,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method,
      protocol: 'http:',
      hostname: signedHeaderValues.host ?? '',
      path: url.pathname,
      query,
      headers: signedHeaderValues,
      body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expectedAuthorization = String(expected.headers.authorization ?? expected.headers.Authorization);
  if (!expectedAuthorization.endsWith(`SignedHeaders=${signedHeaderList}, Signature=${signature}`)) {
    return mismatch;
  }
  return { ok: true, identity: callerIdentity(accessKey, caller) };
}

function callerIdentity(accessKey: string, caller: ApiCaller): CallerIdentity {
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(caller.arn);
  const accountId = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(caller.arn)?.[1];
  if (accountId === undefined) throw new Error(`caller ${caller.arn} is not an IAM or STS ARN`);
  if (session !== null) {
    const [, partition, account, role, sessionName] = session;
    return {
      accessKey,
      arn: caller.arn,
      principalArn: caller.principalArn ?? `arn:${partition}:iam::${account}:role/${role}`,
      accountId,
      // AROA…: a role's unique id; the emulator has none, so a stable stand-in.
      caller: `AROA${shortId(`${account}:${role}`, 17).toUpperCase()}:${sessionName}`,
    };
  }
  return {
    accessKey,
    arn: caller.arn,
    principalArn: caller.principalArn ?? caller.arn,
    accountId,
    caller: `AIDA${shortId(caller.arn, 17).toUpperCase()}`,
  };
}

/** A resource-policy statement in the few forms the evaluator understands. */
interface CheckedStatement {
  readonly effect: 'Allow' | 'Deny';
  /** `*`, account ids or IAM ARNs (`Principal.AWS`). */
  readonly principals: readonly string[];
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions: readonly { operator: string; key: string; values: readonly string[] }[];
}

const CONDITION_OPERATORS = [
  'ArnEquals',
  'ArnNotEquals',
  'ArnLike',
  'ArnNotLike',
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
];
const CONDITION_KEYS = ['aws:PrincipalArn', 'aws:PrincipalAccount'];
const STATEMENT_ELEMENTS = ['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'];

const asList = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value)]);

/**
 * The policy in the forms the evaluator understands, or an error naming the element it does not
 * (NotPrincipal, NotAction, NotResource, other condition operators or keys, intrinsics).
 */
export function checkedPolicy(policy: PolicyDocument): CheckedStatement[] {
  return policy.Statement.map((statement, index) => {
    const where = `resource policy statement ${index}`;
    const unknown = Object.keys(statement).find((element) => !STATEMENT_ELEMENTS.includes(element));
    if (unknown !== undefined) throw new Error(`${where}: ${unknown} is not understood by the emulator`);
    const { Effect, Principal, Action, Resource, Condition } = statement;
    if (Effect !== 'Allow' && Effect !== 'Deny') throw new Error(`${where}: Effect ${String(Effect)}`);
    const principals =
      Principal === '*'
        ? ['*']
        : typeof Principal === 'object' &&
            Principal !== null &&
            Object.keys(Principal).length === 1 &&
            'AWS' in Principal
          ? asList((Principal as { AWS: unknown }).AWS)
          : undefined;
    if (principals === undefined)
      throw new Error(`${where}: Principal ${JSON.stringify(Principal)} is not understood`);
    const strings = (name: string, value: unknown) => {
      const list = asList(value);
      if ((Array.isArray(value) ? value : [value]).some((item) => typeof item !== 'string')) {
        throw new Error(`${where}: ${name} ${JSON.stringify(value)} holds something other than strings`);
      }
      return list;
    };
    const conditions = Object.entries((Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(
      ([operator, keys]) => {
        if (!CONDITION_OPERATORS.includes(operator))
          throw new Error(`${where}: condition operator ${operator}`);
        return Object.entries(keys).map(([key, values]) => {
          if (!CONDITION_KEYS.includes(key)) throw new Error(`${where}: condition key ${key}`);
          return { operator, key, values: strings(key, values) };
        });
      },
    );
    return {
      effect: Effect,
      principals: strings('Principal.AWS', principals),
      actions: strings('Action', Action),
      resources: strings('Resource', Resource),
      conditions,
    };
  });
}

/** IAM's wildcard match: `*` any run of characters (`/` included), `?` one character. */
function wildcard(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`, 's').test(value);
}

/**
 * `allow`, `deny` (an explicit Deny matched: it wins) or `none` (no Allow matched) for one
 * `execute-api:Invoke` of `resourceArn` by `identity`.
 */
export function evaluatePolicy(
  statements: readonly CheckedStatement[],
  identity: Pick<CallerIdentity, 'arn' | 'principalArn' | 'accountId'>,
  resourceArn: string,
  apiArnPrefix: string,
): 'allow' | 'deny' | 'none' {
  const keys: Record<string, string> = {
    'aws:PrincipalArn': identity.principalArn,
    'aws:PrincipalAccount': identity.accountId,
  };
  const applies = (statement: CheckedStatement) =>
    statement.actions.some((action) => wildcard(action.toLowerCase(), 'execute-api:invoke')) &&
    statement.resources.some((resource) =>
      wildcard(resource.replace(/^execute-api:\//, apiArnPrefix), resourceArn),
    ) &&
    statement.principals.some(
      (principal) =>
        principal === '*' ||
        principal === identity.accountId ||
        principal === `arn:aws:iam::${identity.accountId}:root` ||
        principal === identity.principalArn ||
        principal === identity.arn,
    ) &&
    statement.conditions.every(({ operator, key, values }) => {
      const value = keys[key];
      const negated = operator.includes('Not');
      // A condition on an absent key: a negated operator holds, any other fails (as IAM's).
      if (value === undefined) return negated;
      const like = operator.endsWith('Like') || operator.startsWith('Arn');
      const matches = values.some((pattern) => (like ? wildcard(pattern, value) : pattern === value));
      return negated ? !matches : matches;
    });
  const matched = statements.filter(applies);
  if (matched.some((statement) => statement.effect === 'Deny')) return 'deny';
  return matched.some((statement) => statement.effect === 'Allow') ? 'allow' : 'none';
}

interface EventInputs {
  route: ApiRoute;
  method: string;
  path: string;
  url: URL;
  headers: Map<string, string[]>;
  body: Buffer;
  pathParameters: Record<string, string>;
  identity: CallerIdentity | undefined;
  sourceIp: string;
  requestId: string;
  requestTimeEpoch: number;
  apiId: string;
  stage: string;
  accountId: string;
  binary: readonly string[];
}

/** The REST API (v1) Lambda proxy event, as API Gateway builds it. */
function proxyEvent(inputs: EventInputs): APIGatewayProxyEvent {
  const { headers, url, identity, body } = inputs;
  const traceId = `Root=1-${Math.floor(inputs.requestTimeEpoch / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  const port = header(headers, 'host')?.split(':')[1] ?? '80';
  const added: [string, string][] = [
    ['X-Amzn-Trace-Id', traceId],
    ['X-Forwarded-For', inputs.sourceIp],
    ['X-Forwarded-Port', port],
    ['X-Forwarded-Proto', 'http'],
  ];
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(headers);
  for (const [name, value] of added) {
    const existing = Object.keys(multiValueHeaders).find(
      (known) => known.toLowerCase() === name.toLowerCase(),
    );
    if (existing === undefined) multiValueHeaders[name] = [value];
    else multiValueHeaders[existing] = [...(multiValueHeaders[existing] ?? []), value];
  }
  const singleHeaders = Object.fromEntries(
    Object.entries(multiValueHeaders).map(([name, values]) => [name, values[values.length - 1] as string]),
  );
  const multiValueQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams)
    multiValueQuery[name] = [...(multiValueQuery[name] ?? []), value];
  const hasQuery = Object.keys(multiValueQuery).length > 0;
  const contentType = (header(headers, 'content-type') ?? 'application/json').split(';')[0]?.trim() ?? '';
  const isBinary = inputs.binary.some((type) => wildcard(type, contentType));
  const hasBody = body.length > 0;
  const hasParameters = Object.keys(inputs.pathParameters).length > 0;
  return {
    resource: inputs.route.resourcePath,
    path: inputs.path,
    httpMethod: inputs.method,
    headers: singleHeaders,
    multiValueHeaders,
    queryStringParameters: hasQuery
      ? Object.fromEntries(
          Object.entries(multiValueQuery).map(([name, values]) => [name, values.at(-1) as string]),
        )
      : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: hasParameters ? inputs.pathParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: inputs.accountId,
      apiId: inputs.apiId,
      authorizer: null,
      domainName: header(headers, 'host') ?? '127.0.0.1',
      domainPrefix: inputs.apiId,
      extendedRequestId: shortId(inputs.requestId, 16),
      httpMethod: inputs.method,
      identity: {
        accessKey: identity?.accessKey ?? null,
        accountId: identity?.accountId ?? null,
        apiKey: null,
        apiKeyId: null,
        caller: identity?.caller ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: inputs.sourceIp,
        user: identity?.caller ?? null,
        userAgent: header(headers, 'user-agent') ?? null,
        userArn: identity?.arn ?? null,
      },
      path: `/${inputs.stage}${inputs.path}`,
      protocol: 'HTTP/1.1',
      requestId: inputs.requestId,
      requestTime: new Date(inputs.requestTimeEpoch).toUTCString(),
      requestTimeEpoch: inputs.requestTimeEpoch,
      resourceId: shortId(inputs.route.resourceLogicalId, 6),
      resourcePath: inputs.route.resourcePath,
      stage: inputs.stage,
    },
    body: hasBody ? (isBinary ? body.toString('base64') : body.toString('utf8')) : null,
    isBase64Encoded: hasBody && isBinary,
  };
}

/** The HTTP answer of a Lambda proxy result, or undefined where API Gateway answers 502. */
function proxyResult(
  invocation: Invocation,
): { statusCode: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  if (invocation.functionError !== undefined) return undefined;
  const result = invocation.payload as Record<string, unknown> | null;
  if (result === null || typeof result !== 'object') return undefined;
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries((result.headers ?? {}) as Record<string, unknown>)) {
    headers[name] = String(value);
  }
  for (const [name, values] of Object.entries((result.multiValueHeaders ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(values)) return undefined;
    headers[name] = values.map(String);
  }
  const text = result.body === undefined || result.body === null ? '' : String(result.body);
  const body = result.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode, headers, body };
}
