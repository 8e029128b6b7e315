// Typed lint rules for the whole project, the rules that keep the layers apart (the platform knows
// no context; roles and tools reach contexts through their list), and the rule that keeps the domain pure:
// deciders in src/contexts/*/domain/** and src/platform/domain/** may not import I/O, clocks or frameworks.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ioModules = [
  "kafkajs", "node-rdkafka", "ioredis", "mysql2", "mysql2/*", "mongodb", "fastify", "fastify-plugin",
  "@fastify/*", "pino", "prom-client", "avsc", "@kafkajs/confluent-schema-registry", "ws",
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".stack/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js", "bin/*.cjs"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/consistent-type-imports": "error",
      // fastify plugins and handlers are async by contract, with or without an await inside.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: "Read configuration through loadConfig(env) only." },
      ],
    },
  },
  {
    files: ["src/platform/config/**", "src/cli/main.ts", "test/**", "scripts/**", "bin/**", "vitest.config.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
  {
    files: ["src/platform/**", "src/infra/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/contexts/**"], message: "The platform knows no context: contexts plug in through the list in src/contexts/index.ts." }],
      }],
    },
  },
  {
    files: ["src/cli/**", "src/console/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/contexts/*/**"], message: "Roles, tools and the console reach the contexts through the list in src/contexts/index.ts only." }],
      }],
    },
  },
  {
    files: ["src/contexts/*/domain/**", "src/platform/domain/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["node:*", ...ioModules], message: "The domain is pure: no I/O, framework or runtime imports." },
          { group: ["**/infra/**", "**/contexts/**", "**/gateway/**", "**/phoenix/**", "**/processor/**", "**/projection/**", "**/projections/**", "**/channels/**", "**/config/**", "**/cli/**", "**/processor.js", "**/routes.js", "**/module.js"], message: "The domain depends on nothing outside itself and the platform's decider contract." },
        ],
      }],
      "no-restricted-globals": ["error",
        { name: "Date", message: "Time arrives in the command metadata." },
        { name: "process", message: "The domain does not read the process." },
        { name: "crypto", message: "Ids arrive in the command metadata." },
      ],
    },
  },
  {
    files: ["test/**"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // The console's pages run this plain JavaScript in the browser as it is: untyped rules, the browser's globals.
    files: ["src/console/assets/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: "script",
      parserOptions: { projectService: false, program: null, project: false },
      globals: { document: "readonly", location: "readonly", history: "readonly", fetch: "readonly", EventSource: "readonly", FormData: "readonly", URLSearchParams: "readonly", Node: "readonly", setTimeout: "readonly", setInterval: "readonly" },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules },
  },
  {
    // The examples are plain JavaScript for others to copy (a test runs each): untyped rules, Node's
    // globals, and their own configuration from the environment.
    files: ["examples/**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, program: null, project: false }, globals: { console: "readonly", process: "readonly", fetch: "readonly", setInterval: "readonly" } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, "no-restricted-syntax": "off" },
  },
);
