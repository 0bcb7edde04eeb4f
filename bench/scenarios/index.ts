export { firstSync } from './first-sync.ts';
export { hashScenario } from './hash.ts';
export { noChange } from './no-change.ts';
export { saveRerun } from './save-rerun.ts';
export { saveToHttp } from './save-to-http.ts';
export { saveToRoot } from './save-to-root.ts';
export { stormScenario } from './storm.ts';
export { watcherReady } from './watcher-ready.ts';
