#!/usr/bin/env node
// The local runtime's `wrangler vectorize`: the same commands and flags, acting on the indexes
// under --persist-to (default .wrangler/state) that the runtime's Vectorize bindings use.
//   vectorize.mjs create NAME --dimensions=768 --metric=cosine
//   vectorize.mjs create-metadata-index NAME --property-name=owner --type=string
//   vectorize.mjs list-metadata-index NAME | delete-metadata-index NAME --property-name=owner
//   vectorize.mjs info NAME | get NAME | delete NAME
import path from "node:path";
import { parseArgs } from "node:util";
import { VectorizeCommandError, createIndex, deleteIndex, openIndex } from "../lib/bindings/vectorize.mjs";

const USAGE = "usage: vectorize.mjs <create|create-metadata-index|list-metadata-index|delete-metadata-index|info|get|delete> NAME [flags] [--persist-to DIR]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "persist-to": { type: "string", default: ".wrangler/state" },
    dimensions: { type: "string" },
    metric: { type: "string" },
    "property-name": { type: "string" },
    type: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

function run() {
  const [command, name] = positionals;
  if (!command || !name) throw new VectorizeCommandError(USAGE);
  const root = path.resolve(values["persist-to"]);
  const withIndex = (fn) => {
    const store = openIndex(root, name);
    try {
      return fn(store);
    } finally {
      store.close();
    }
  };
  switch (command) {
    case "create":
      createIndex(root, name, { dimensions: /^\d{1,5}$/.test(values.dimensions ?? "") ? Number(values.dimensions) : NaN, metric: values.metric });
      return `✅ Created index "${name}" (${values.dimensions} dimensions, ${values.metric})`;
    case "create-metadata-index":
      withIndex((store) => store.createMetadataIndex(values["property-name"], values.type));
      return `✅ Created metadata index on "${values["property-name"]}" (${values.type}) of "${name}"`;
    case "delete-metadata-index":
      withIndex((store) => store.deleteMetadataIndex(values["property-name"]));
      return `✅ Deleted metadata index on "${values["property-name"]}" of "${name}"`;
    case "list-metadata-index":
      return JSON.stringify(withIndex((store) => store.metadataIndexes().map((i) => ({ propertyName: i.property, indexType: i.type }))));
    case "get":
    case "info":
      return JSON.stringify(
        withIndex((store) => {
          store.applyDue();
          return {
            name,
            config: { dimensions: store.dimensions, metric: store.metric },
            created_on: store.createdOn(),
            vectorCount: store.vectorCount(),
            processedUpToMutation: store.lastMutation,
            processedUpToDatetime: store.lastMutationAt,
          };
        }),
      );
    case "delete":
      deleteIndex(root, name);
      return `✅ Deleted index "${name}"`;
    default:
      throw new VectorizeCommandError(USAGE);
  }
}

try {
  console.log(run());
} catch (error) {
  if (!(error instanceof VectorizeCommandError)) throw error;
  console.error(`✘ ${error.message}`);
  process.exit(1);
}
