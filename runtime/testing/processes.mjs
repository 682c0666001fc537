// Process helpers shared by the tests that start the runtime's CLI in a child process (the
// runtime's own tests and the web app's browser tests).
import net from "node:net";

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Stops a runtime started with `detached: true` (its own process group): SIGTERM, SIGKILL after
// 15 s, then SIGKILL for whatever is left of the group (workerd, if node died without it).
export async function stopProcessGroup(child) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
