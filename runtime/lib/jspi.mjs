// WebAssembly stack switching (JSPI). Production's workerd runs Pyodide with it, so Python code
// there can block on a promise (`pyodide.ffi.run_sync`) and Cloudflare's own in-Worker binding
// tests rely on it. Node 20 has it behind a V8 flag, which must be given when Node starts
// (v8.setFlagsFromString later crashes Pyodide's load).
export const JSPI_FLAG = "--experimental-wasm-stack-switching";

// Pyodide 0.28 accepts the proposal's old API (WebAssembly.Suspender, Node 20) and its new one
// (WebAssembly.Suspending).
export function jspiAvailable() {
  return typeof WebAssembly.Suspending === "function" || typeof WebAssembly.Suspender === "function";
}

export function jspiMissingMessage() {
  return (
    `WebAssembly stack switching (JSPI) is off in this Node.js ${process.version}; production runs Python ` +
    `Workers with it. Start Node with ${JSPI_FLAG} (npm run dev does).`
  );
}
