/**
 * Preloaded into every worker the launcher starts (`node --import lifeline.js worker.js …`).
 *
 * The parent (the launcher, or the agent on a remote host) holds the other end of a pipe on the
 * file descriptor named by SCOOP_PARENT_FD. When the parent goes away for any reason, including
 * SIGKILL, the pipe reaches end-of-file and this worker leaves the pool as if told to stop
 * (SIGTERM to itself: the worker's own handler says goodbye to the broker, or ends the pool when it
 * is the origin), and exits for sure a moment later. No worker outlives the process that started it.
 */
import { Socket } from "node:net";

const VAR = "SCOOP_PARENT_FD";
const fd = Number(process.env[VAR]);
// Not for the worker's own children: they do not have this descriptor.
delete process.env[VAR];

if (Number.isInteger(fd) && fd > 2) {
  try {
    const pipe = new Socket({ fd, readable: true, writable: false });
    let gone = false;
    const parentGone = () => {
      if (gone) return;
      gone = true;
      setTimeout(() => process.exit(130), 2000).unref();
      process.kill(process.pid, "SIGTERM");
    };
    pipe.on("end", parentGone);
    pipe.on("close", parentGone);
    pipe.on("error", parentGone);
    pipe.on("data", () => {});
    pipe.unref();
  } catch {
    // Not a pipe (started by hand with the variable set): nothing to watch.
  }
}
