// The domain modules the API serves, in registration order.
import type { ApiModule } from '../app.ts';

export const apiModules: ApiModule[] = [];
