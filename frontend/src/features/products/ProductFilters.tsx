import { useState } from "react";
import { Button, TextField } from "@/components/ui";
import { useDebouncedCallback } from "@/lib/useDebouncedCallback";
import type { ProductQuery } from "./types";

export interface ProductFiltersProps {
  query: ProductQuery;
  onChange: (changes: Partial<ProductQuery>) => void;
  onClear: () => void;
  hasFilters: boolean;
}

/** Search and filters; typing is debounced (300 ms), Enter applies at once. */
export function ProductFilters({ query, onChange, onClear, hasFilters }: ProductFiltersProps) {
  return (
    <form
      className="filters"
      role="search"
      aria-label="Search and filter products"
      onSubmit={(event) => event.preventDefault()}
    >
      <DebouncedField
        className="filters__search"
        label="Search"
        type="search"
        placeholder="SKU, name or description"
        value={query.search}
        onCommit={(search) => onChange({ search })}
      />
      <DebouncedField label="SKU (exact)" value={query.sku} onCommit={(sku) => onChange({ sku })} />
      <DebouncedField
        label="Name contains"
        value={query.name}
        onCommit={(name) => onChange({ name })}
      />
      <DebouncedField
        label="Description contains"
        value={query.description}
        onCommit={(description) => onChange({ description })}
      />
      <div className="field">
        <label htmlFor="filter-active" className="field__label">
          Active
        </label>
        <select
          id="filter-active"
          className="input"
          value={query.active}
          onChange={(event) => onChange({ active: event.target.value as ProductQuery["active"] })}
        >
          <option value="">Any</option>
          <option value="true">Active</option>
          <option value="false">Inactive</option>
        </select>
      </div>
      <div className="filters__actions">
        <Button size="small" onClick={onClear} disabled={!hasFilters}>
          Clear filters
        </Button>
      </div>
    </form>
  );
}

function DebouncedField({
  label,
  value,
  onCommit,
  className,
  type = "text",
  placeholder,
}: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
  className?: string;
  type?: string;
  placeholder?: string;
}) {
  const [draft, setDraft] = useState(value);
  // The value this field last sent or saw: a different one came from elsewhere (Clear filters,
  // the Back button) and replaces what is typed.
  const [known, setKnown] = useState(value);
  if (value !== known) {
    setKnown(value);
    setDraft(value);
  }
  const debounced = useDebouncedCallback((text: string) => {
    setKnown(text);
    onCommit(text);
  }, 300);
  return (
    <TextField
      className={className}
      label={label}
      type={type}
      placeholder={placeholder}
      autoComplete="off"
      spellCheck={false}
      value={draft}
      onChange={(event) => {
        setDraft(event.target.value);
        debounced.call(event.target.value);
      }}
      onKeyDown={(event) => {
        if (event.key === "Enter") debounced.flush(event.currentTarget.value);
      }}
    />
  );
}
