import { useId, useState, type FormEvent } from "react";
import { Button, Dialog, ErrorMessage, TextField } from "@/components/ui";
import { useAccess } from "@/features/auth";
import { ApiError } from "@/lib/api";
import { useCreateProfile, useProfiles } from "./profiles";
import type { ImportOptions, ImportProfile } from "./types";

export interface ProfileControlsProps {
  profileId: number | null;
  /** The mapping and options on the form: what "Save as a profile" keeps. */
  current: ImportOptions;
  /** A profile picked (null: none), or one just saved. */
  onPick: (profile: ImportProfile | null) => void;
  disabled?: boolean;
}

/** Pick a saved profile (its mapping and options apply), or save the form's as a new one. */
export function ProfileControls({ profileId, current, onPick, disabled }: ProfileControlsProps) {
  const selectId = useId();
  const access = useAccess();
  const maySave = access.can("imports.add_importprofile");
  const profiles = useProfiles(access.can("imports.view_importprofile"));
  const [saving, setSaving] = useState(false);
  const list = profiles.data?.results ?? [];
  return (
    <div className="profile-controls">
      <div className="field">
        <label htmlFor={selectId} className="field__label">
          Saved profile
        </label>
        <select
          id={selectId}
          className="input"
          value={profileId ?? ""}
          disabled={disabled || !profiles.data}
          onChange={(event) => {
            const picked = list.find((profile) => String(profile.id) === event.target.value);
            onPick(picked ?? null);
          }}
        >
          <option value="">None</option>
          {list.map((profile) => (
            <option key={profile.id} value={profile.id}>
              {profile.name}
            </option>
          ))}
        </select>
      </div>
      {maySave && (
        <Button size="small" onClick={() => setSaving(true)} disabled={disabled}>
          Save as a profile
        </Button>
      )}
      <ErrorMessage error={profiles.error} prefix="Could not load the saved profiles:" />
      <Dialog open={saving} onClose={() => setSaving(false)} title="Save as a profile">
        <SaveProfileForm
          current={current}
          onCancel={() => setSaving(false)}
          onSaved={(profile) => {
            setSaving(false);
            onPick(profile);
          }}
        />
      </Dialog>
    </div>
  );
}

function SaveProfileForm({
  current,
  onCancel,
  onSaved,
}: {
  current: ImportOptions;
  onCancel: () => void;
  onSaved: (profile: ImportProfile) => void;
}) {
  const create = useCreateProfile();
  const [name, setName] = useState("");
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  const otherError = create.error && !fieldErrors.name ? create.error : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name: name.trim(), ...current }, { onSuccess: onSaved });
  }

  return (
    <form onSubmit={submit} noValidate className="form">
      <TextField
        label="Profile name"
        name="name"
        required
        maxLength={100}
        data-autofocus
        value={name}
        errors={fieldErrors.name}
        hint="The mapping of the columns and the options, to pick again for the next file."
        onChange={(event) => setName(event.target.value)}
      />
      <ErrorMessage error={otherError} prefix="Could not save the profile:" />
      <div className="dialog__actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()}>
          Save profile
        </Button>
      </div>
    </form>
  );
}
