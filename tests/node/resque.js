// node-resque's side of tests/tests/node_resque.rs: one subcommand per role.
//
//   node resque.js enqueue QUEUE CLASS ARGS_JSON
//   node resque.js enqueue-in MILLIS QUEUE CLASS ARGS_JSON
//   node resque.js work QUEUES COUNT        run jobs until COUNT have ended
//   node resque.js schedule COUNT           promote delayed jobs until COUNT moved
//   node resque.js failed                   Queue.failed(0, -1)
//   node resque.js retry-failed INDEX       Queue.retryAndRemoveFailed(failed[INDEX])
//   node resque.js workers                  Queue.workers() and workingOn() of each
//   node resque.js queued QUEUE             Queue.queued(QUEUE, 0, -1)
//
// The server is 127.0.0.1:$REDIS_PORT, the namespace $RESQUE_NAMESPACE
// (default `resque`). Each prints one JSON document on stdout (`work` and
// `schedule` print one JSON line per event) and exits 0; on any error it
// prints the error on stderr and exits 1.
"use strict";

const { Queue, Worker, Scheduler } = require("node-resque");

const port = parseInt(process.env.REDIS_PORT || "", 10);
if (!port) fail(new Error("REDIS_PORT is not set"));
const connection = {
  host: "127.0.0.1",
  port,
  namespace: process.env.RESQUE_NAMESPACE || "resque",
  // Give up at once instead of retrying forever: a test wants an error.
  options: { maxRetriesPerRequest: 1, retryStrategy: () => null },
};
// Poll often: the tests wait for these processes.
const POLL_MS = 50;

function fail(error) {
  process.stderr.write(`node-resque: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}

function print(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

async function queue() {
  const q = new Queue({ connection });
  q.on("error", fail);
  await q.connect();
  return q;
}

// The jobs a node worker knows. `Archive` and `Record` answer to the Rust test
// jobs' class names; `Test::Fail` throws, as its Rust namesake fails;
// `Sleep` waits its argument's milliseconds; `Noop` does nothing.
const jobs = {
  Archive: { perform: async (...args) => args },
  // The benchmark's no-op job (bench/src/node.rs).
  Noop: { perform: async () => null },
  Record: { perform: async (...args) => args },
  Sleep: { perform: (millis) => new Promise((resolve) => setTimeout(resolve, millis)) },
  "Test::Fail": {
    perform: async (message) => {
      throw new Error(`failed on purpose: ${message}`);
    },
  },
};

async function work(queues, count) {
  const worker = new Worker({ connection, queues: queues.split(","), timeout: POLL_MS }, jobs);
  let ended = 0;
  let stopping = false;
  const done = async () => {
    ended += 1;
    if (ended >= count && !stopping) {
      stopping = true;
      // Let completeJob clear worker:<id> before untracking.
      setImmediate(async () => {
        try {
          await worker.end();
          process.exit(0);
        } catch (error) {
          fail(error);
        }
      });
    }
  };
  worker.on("error", fail);
  worker.on("success", (queue, job, result) => {
    print({ event: "success", queue, class: job.class, args: job.args, result });
    done();
  });
  worker.on("failure", (queue, job, error) => {
    print({ event: "failure", queue, class: job.class, args: job.args, error: String(error) });
    done();
  });
  await worker.connect();
  print({ event: "started", name: worker.name });
  await worker.start();
}

async function schedule(count) {
  const scheduler = new Scheduler({ connection, timeout: POLL_MS });
  let moved = 0;
  scheduler.on("error", fail);
  scheduler.on("transferredJob", async (timestamp, job) => {
    print({ event: "transferred", timestamp, job });
    moved += 1;
    if (moved >= count) {
      try {
        await scheduler.end();
        process.exit(0);
      } catch (error) {
        fail(error);
      }
    }
  });
  await scheduler.connect();
  await scheduler.start();
}

async function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case "enqueue": {
      const [name, klass, args] = rest;
      const q = await queue();
      print({ enqueued: await q.enqueue(name, klass, JSON.parse(args)) });
      await q.end();
      return false;
    }
    case "enqueue-in": {
      const [millis, name, klass, args] = rest;
      const q = await queue();
      print({ scheduled: await q.enqueueIn(parseInt(millis, 10), name, klass, JSON.parse(args)) });
      await q.end();
      return false;
    }
    case "work":
      await work(rest[0], parseInt(rest[1], 10));
      return true;
    case "schedule":
      await schedule(parseInt(rest[0], 10));
      return true;
    case "failed": {
      const q = await queue();
      print(await q.failed(0, -1));
      await q.end();
      return false;
    }
    case "retry-failed": {
      const q = await queue();
      const entries = await q.failed(0, -1);
      const entry = entries[parseInt(rest[0], 10)];
      if (!entry) throw new Error(`no failure at index ${rest[0]}`);
      print({ retried: await q.retryAndRemoveFailed(entry), entry });
      await q.end();
      return false;
    }
    case "workers": {
      const q = await queue();
      const workers = await q.workers();
      const workingOn = {};
      for (const [name, queues] of Object.entries(workers)) {
        const raw = await q.workingOn(name, queues);
        workingOn[name] = raw === null ? null : JSON.parse(raw);
      }
      print({ workers, workingOn });
      await q.end();
      return false;
    }
    case "queued": {
      const q = await queue();
      print({ length: await q.length(rest[0]), jobs: await q.queued(rest[0], 0, -1) });
      await q.end();
      return false;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2))
  .then((keepRunning) => {
    if (!keepRunning) process.exit(0);
  })
  .catch(fail);
