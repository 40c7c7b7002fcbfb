// Says out loud which shapes this run covers, so a run without Postgres/Redis
// cannot pass for a full one.
export default function announceShapes(): void {
  const scale = process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL;
  if (scale) {
    console.log(
      `[rampart tests] shapes: embedded + scale (Postgres ${process.env.TEST_DATABASE_URL}, Redis ${process.env.TEST_REDIS_URL})`,
    );
  } else {
    console.warn(
      '[rampart tests] NOTICE: TEST_DATABASE_URL/TEST_REDIS_URL are not set: scale-shape tests are SKIPPED. ' +
        'CI sets them (see .ci/run).',
    );
  }
}
