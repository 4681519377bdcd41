import { Construct } from 'constructs';

/**
 * Groups the resources of one concern (ingest, streams, ...). The stack leaves a concern's id
 * out of its resources' logical ids, so they start with the construct ids docs/architecture.md
 * names (`RawStream...`, `Collector...`) while the construct tree stays grouped by concern.
 */
export abstract class PipelineConcern extends Construct {}
