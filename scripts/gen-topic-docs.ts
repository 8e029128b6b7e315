/** Rewrites the per-topic table of schemas/README.md from the contract (`npm run gen:docs`). */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../src/platform/config/project.js";
import { loadSchemaCatalog } from "../src/platform/contract/schema-catalog.js";
import { renderTopicFacts, topicFacts, withTopicFacts } from "../src/platform/contract/topic-facts.js";

const file = join(projectRoot(), "schemas/README.md");
writeFileSync(file, withTopicFacts(readFileSync(file, "utf8"), renderTopicFacts(topicFacts(loadSchemaCatalog()))));
console.log(`wrote the topic table of ${file}`);
