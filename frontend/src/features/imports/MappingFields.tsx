import { useId } from "react";
import { FIELDS, mappingProblems } from "./columns";
import type { Mapping, ProductField } from "./types";

export const FIELD_LABELS: Record<ProductField, string> = {
  sku: "SKU",
  name: "Name",
  description: "Description",
  active: "Active",
};

export interface MappingFieldsProps {
  columns: string[];
  mapping: Mapping;
  onChange: (mapping: Mapping) => void;
  disabled?: boolean;
}

/**
 * Each column of a file's header with the field it fills (or "Ignore"), labelled by the column's
 * name, and what stops the mapping from being imported, in words.
 */
export function MappingFields({ columns, mapping, onChange, disabled }: MappingFieldsProps) {
  const id = useId();
  const problems = mappingProblems(columns, mapping);
  const taken = (field: ProductField | null) =>
    field !== null && columns.filter((column) => mapping[column] === field).length > 1;
  return (
    <fieldset
      className="fieldset mapping"
      aria-describedby={problems.length ? `${id}-problems` : undefined}
    >
      <legend>Columns of the file</legend>
      <div className="mapping__grid">
        {columns.map((column, index) => {
          const field = mapping[column] ?? null;
          const selectId = `${id}-${index}`;
          return (
            <div key={selectId} className="field mapping__column">
              <label htmlFor={selectId} className="field__label mono">
                {column || "(no name)"}
              </label>
              <select
                id={selectId}
                className="input"
                value={field ?? ""}
                // The API cannot name a column without a name: it is ignored.
                disabled={disabled || !column.trim()}
                aria-invalid={taken(field) || undefined}
                onChange={(event) =>
                  onChange({
                    ...mapping,
                    [column]: (event.target.value || null) as ProductField | null,
                  })
                }
              >
                <option value="">Ignore</option>
                {FIELDS.map((option) => (
                  <option key={option} value={option}>
                    {FIELD_LABELS[option]}
                  </option>
                ))}
              </select>
            </div>
          );
        })}
      </div>
      {problems.length > 0 && (
        <ul id={`${id}-problems`} className="field__error mapping__problems" aria-live="polite">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
