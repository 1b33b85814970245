// Runs the wasm32 build of keras-wasm-smoke under Node.js: loads Keras-made `.keras` files in a
// 32-bit keras-rs and compares its predictions with Keras's (`.ci/run` calls this).
//   node crates/wasm-smoke/run.mjs <module.wasm> <fixtures dir> <name>...
// Exit code 0 when every model predicts within 1e-5 of Keras, 1 otherwise.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [wasmPath, dir, ...names] = process.argv.slice(2);
if (!wasmPath || !dir || names.length === 0) {
  console.error("usage: node run.mjs <module.wasm> <fixtures dir> <name>...");
  process.exit(2);
}

// The module's imports are wasm-bindgen's, for web-time's clock (the RNG is seeded from it when
// a loaded model builds its layers, as in a browser). `js_sys::Date::now` is given the clock,
// in milliseconds since the epoch as a browser's; any other import throws, so a call no browser
// page would answer the same way fails the run instead of reading a made-up value.
const clock = () => performance.timeOrigin + performance.now();
const stubs = new Proxy({}, {
  get: (_, module) => new Proxy({}, {
    get: (_, name) => String(name).startsWith("__wbg_now_")
      ? clock
      : () => { throw new Error(`unexpected import call ${String(module)}.${String(name)}`); },
  }),
});
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), stubs);
const ex = instance.exports;

function copyIn(bytes) {
  const ptr = ex.smoke_alloc(bytes.length);
  new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
}

let failed = 0;
for (const name of names) {
  const args = ["", "_x", "_y"].map((s, i) =>
    copyIn(readFileSync(join(dir, `${name}${s}${i === 0 ? ".keras" : ".npy"}`))));
  const diff = ex.smoke_check(...args.flat());
  if (diff < 0) {
    const msg = new TextDecoder().decode(
      new Uint8Array(ex.memory.buffer, ex.smoke_error_ptr(), ex.smoke_error_len()));
    console.log(`FAIL wasm32 ${name}: ${msg}`);
    failed++;
  } else if (!(diff < 1e-5)) {
    console.log(`FAIL wasm32 ${name}: predictions differ from Keras by ${diff}`);
    failed++;
  } else {
    console.log(`PASS wasm32 ${name}: loaded the .keras file, max |keras-rs - Keras| = ${diff}`);
  }
}
process.exit(failed ? 1 : 0);
