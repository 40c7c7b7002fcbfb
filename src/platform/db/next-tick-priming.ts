// Keeps process.nextTick fast in a process that loads PGlite's extensions.
//
// PGlite unpacks each extension bundle through Node streams (createReadStream -> gunzip),
// which call process.nextTick with many argument shapes while V8 has not yet settled on
// one for the tick objects nextTick builds. Its object-literal stores then go megamorphic
// for the life of the process: measured at ~360 ns per nextTick instead of ~50-100 ns,
// and an HTTP request makes about seven. Calling it in one uniform shape until V8
// optimises it, before the bundles load, keeps those stores fast (bench/edge.ts).
const PRIMING_CALLS = 100_000;

let primed = false;

export async function primeNextTick(): Promise<void> {
  if (primed) return;
  primed = true;
  const noop = () => {};
  for (let call = 0; call < PRIMING_CALLS; call += 1) process.nextTick(noop);
  await new Promise((resolve) => setImmediate(resolve));
}
