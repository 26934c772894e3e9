// API-only process entry point (`npm run start:api`).
process.env.ROLE = 'api';
await import('./main.js');
