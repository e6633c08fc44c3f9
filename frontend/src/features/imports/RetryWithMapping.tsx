import { useState } from "react";
import { Button } from "@/components/ui";
import { mappingFor, mappingProblems, sendableMapping } from "./columns";
import { MappingFields } from "./MappingFields";
import type { Job, Mapping } from "./types";

export interface RetryWithMappingProps {
  /** A failed job that `needs_mapping`, with its header in `file_columns`. */
  job: Job;
  onRetry: (mapping: Mapping) => void;
  retrying?: boolean;
}

/** The mapping form for a file whose header the server could not map: pick, then retry. */
export function RetryWithMapping({ job, onRetry, retrying }: RetryWithMappingProps) {
  const columns = job.file_columns ?? [];
  const [mapping, setMapping] = useState(() => mappingFor(columns, job.options?.mapping ?? {}));
  const problems = mappingProblems(columns, mapping);
  return (
    <div className="retry-mapping">
      <p>Choose the field each column of the file fills, then retry the import.</p>
      <MappingFields
        columns={columns}
        mapping={mapping}
        onChange={setMapping}
        disabled={retrying}
      />
      <Button
        variant="primary"
        busy={retrying}
        disabled={problems.length > 0}
        onClick={() => onRetry(sendableMapping(mapping))}
      >
        Retry with this mapping
      </Button>
    </div>
  );
}
