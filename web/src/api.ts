// The UI's one way to call the API: JSON over fetch with the session cookie (the UI never
// sees a token), every failure turned into an ApiError carrying the envelope's code, and
// uploads through XMLHttpRequest, the one browser API that reports upload progress.

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An API error in the one envelope, or a network failure (code NETWORK). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly details: ErrorDetail[];
  /** Seconds from Retry-After, when the server sent one. */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { requestId?: string; details?: ErrorDetail[]; retryAfter?: number } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = extra.requestId;
    this.details = extra.details ?? [];
    this.retryAfter = extra.retryAfter;
  }
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Called when any call answers UNAUTHENTICATED: the session ended (expired, revoked, signed out elsewhere). */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function signedOut(): void {
  for (const listener of signedOutListeners) listener();
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function errorFrom(status: number, text: string, retryAfter: string | null, requestIdHeader: string | null): ApiError {
  let body: { error_code?: string; message?: string; request_id?: string; details?: ErrorDetail[] } | undefined;
  try {
    body = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const extra = {
    requestId: body?.request_id ?? requestIdHeader ?? undefined,
    details: body?.details,
    retryAfter: retryAfterSeconds(retryAfter),
  };
  if (body?.error_code) return new ApiError(status, body.error_code, body.message ?? body.error_code, extra);
  return new ApiError(status, `HTTP_${status}`, `The server answered ${status} without an explanation`, extra);
}

const NETWORK_MESSAGE = 'The server cannot be reached. Check your connection and try again.';

function raise(error: ApiError): never {
  if (error.code === 'UNAUTHENTICATED') signedOut();
  throw error;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new ApiError(0, 'NETWORK', NETWORK_MESSAGE);
  }
  const text = await response.text();
  if (!response.ok) raise(errorFrom(response.status, text, response.headers.get('retry-after'), response.headers.get('x-request-id')));
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = <T = void>(path: string) => api<T>('DELETE', path);

/** Sends a body with upload progress (0 to 1); resolves with the JSON answer. */
export function upload<T>(
  path: string,
  body: FormData | Blob,
  contentType: string | undefined,
  onProgress: (fraction: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/api/v1${path}`);
    request.setRequestHeader('accept', 'application/json');
    if (contentType) request.setRequestHeader('content-type', contentType);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onerror = () => reject(new ApiError(0, 'NETWORK', NETWORK_MESSAGE));
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve(JSON.parse(request.responseText) as T);
        return;
      }
      const error = errorFrom(
        request.status,
        request.responseText,
        request.getResponseHeader('retry-after'),
        request.getResponseHeader('x-request-id'),
      );
      if (error.code === 'UNAUTHENTICATED') signedOut();
      reject(error);
    };
    request.send(body);
  });
}

/** The message for an error, in words, whatever was thrown. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
