// WebAssembly stack switching (JSPI). Production's workerd runs Pyodide with it, so Python code
// there can block on a promise (`pyodide.ffi.run_sync`) and Cloudflare's own in-Worker binding
// tests rely on it. Node 20 has it behind a V8 flag, which must be given when Node starts
// (v8.setFlagsFromString later crashes Pyodide's load); newer Node versions turn it on by default.
export const JSPI_FLAG = "--experimental-wasm-stack-switching";

// Pyodide 0.28 accepts the proposal's old API (WebAssembly.Suspender, Node 20) and its new one
// (WebAssembly.Suspending).
export function jspiAvailable() {
  return typeof WebAssembly.Suspending === "function" || typeof WebAssembly.Suspender === "function";
}

// Whether Node was started with a say on JSPI (the flag, or its negation).
export function jspiFlagGiven(execArgv) {
  return execArgv.some((arg) => /wasm-(stack-switching|jspi)/.test(arg));
}

// The flags a launcher gives Node so that the runtime need not restart itself to get JSPI.
export function nodeFlagsForJspi() {
  return jspiAvailable() ? [] : [JSPI_FLAG];
}

export function jspiMissingMessage() {
  return (
    `WebAssembly stack switching (JSPI) is off in this Node.js ${process.version}; production runs Python ` +
    `Workers with it. Start Node without turning it off (the runtime adds ${JSPI_FLAG} itself where needed).`
  );
}
