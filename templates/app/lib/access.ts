// Access levels of app.model.json, enforced on the server (hand-written, protected).
import type { Viewer } from './auth';

export type Level = 'public' | 'member' | 'owner' | 'admin';

/**
 * Whether `viewer` may do an operation at `level`. For `owner`, `rowOwner` is the row's user
 * field: its account may, and so may the admin; with no row (create, list) any account may (a
 * list at `owner` then shows only the viewer's own rows).
 */
export function allows(level: Level, viewer: Viewer | null, rowOwner?: string | null): boolean {
  switch (level) {
    case 'public':
      return true;
    case 'member':
      return viewer !== null;
    case 'admin':
      return viewer?.role === 'admin';
    case 'owner':
      if (viewer === null) return false;
      if (viewer.role === 'admin' || rowOwner === undefined) return true;
      return rowOwner !== null && rowOwner === viewer.id;
  }
}

/** 401 for a visitor (sign in first), 403 for an account without the right. */
export function deniedStatus(viewer: Viewer | null): 401 | 403 {
  return viewer === null ? 401 : 403;
}
