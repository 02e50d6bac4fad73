/**
 * Sidelight as a library (README.md, Offline analysis): offline analysis, the in-process pipeline, the
 * NativeAgentLightning drop-in for kc-orchestrator, the reports, and the types of what comes out.
 * It loads what analysis needs and nothing else (no receiver, exporter, gRPC, SQLite, HTTP client
 * or YAML parser): `import('sidelight')` in a kc process is on the path of its first call. The
 * sidecar and config files are in `sidelight/service` (src/service.ts).
 */
export { analyzeSpans, type AnalyzeOptions, type AnalyzeOutput } from './library/analyze-spans.js';
export { createPipeline, type CreatePipelineOptions, type InProcessPipeline } from './library/create-pipeline.js';
export * from './library/native-agent-lightning.js';
export { parseAnalysisConfig, ConfigError, type SidelightConfig } from './config-file/load.js';
export { analysisComponents, ANALYSIS_DEFAULTS } from './pipeline/processor-registry.js';
export { kcRunToSpans } from './kc/run-to-spans.js';
export { deriveSpan, DEFAULT_ATTRIBUTE_MAPPING } from './model/derive.js';
export { classifyErrorMessage } from './model/error-class.js';
export { renderMarkdownReport } from './report/markdown.js';
export { renderHtmlReport } from './report/html.js';
export { buildRecommendations } from './recommendations/build.js';
export { kcTaskSchema, recommendationSchema } from './recommendations/schema.js';
export type { SpanRecord, RawSpan, AttrValue, Attributes } from './model/span.js';
export type { PainPointRecord, PainPointKind, Severity, Category, Subject, Evidence, Observation } from './model/painpoint.js';
export type { Recommendation, KcTask } from './model/recommendation.js';
export type { PainPointChange } from './model/events.js';
export type { AnalysisResult, AnalysisStatistics } from './model/analysis.js';
