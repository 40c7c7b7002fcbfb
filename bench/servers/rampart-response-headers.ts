// What "the same response headers as Rampart" means for the reference servers: the
// production security set and CORS's Vary: Origin. Each server adds a fresh X-Request-ID
// per response, as Rampart does.
import { securityHeaders } from '../../src/platform/security/headers.ts';

export const RAMPART_RESPONSE_HEADERS: Readonly<Record<string, string>> = { ...securityHeaders(true), vary: 'Origin' };
