import { defineContext } from "../../platform/context-module.js";
import { huddlesConfig } from "./config.js";
import { huddleProcessor } from "./processor.js";

/**
 * Huddles: one aggregate per huddle (`quikapp.huddles.*`) with its empty timer, on the processor
 * role. Not built yet: the `huddle:{huddleId}` channel and the huddle pushes of conversation
 * topics, the REST routes, the read models, signaling inside a huddle, and the presence policy
 * that removes the participants of lost connections.
 */
export const huddles = defineContext({
  name: "huddles",
  config: huddlesConfig,
  processors: (settings) => [huddleProcessor(settings)],
});
