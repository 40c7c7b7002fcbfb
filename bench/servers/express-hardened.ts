// Comparison: the usual Express 5 hardening (helmet, cors, express-rate-limit) on the same route.
import cors from 'cors';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';

const app = express();
app.use(helmet());
app.use(cors({ origin: ['https://app.example'], credentials: true }));
app.use(rateLimit({ windowMs: 60_000, limit: 100_000_000, standardHeaders: 'draft-7', legacyHeaders: false }));
app.use(express.json({ limit: '1mb' }));
app.get('/health/live', (_request, response) => {
  response.json({ status: 'live' });
});
app.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
