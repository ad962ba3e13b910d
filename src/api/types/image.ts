/** Image objects of the control API, shaped as Docker Engine API v1.41 returns them. */

/** One entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** `GET /images/{name}/json`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Created: string;
  Size: number;
  VirtualSize: number;
  Architecture: string;
  Os: string;
  Config: Record<string, unknown>;
  RootFS: { Type: 'layers'; Layers: string[] };
}

/** One item of `DELETE /images/{name}` and of a prune's `ImagesDeleted`. */
export interface ImageDeleteItem { Untagged?: string; Deleted?: string }

/** `POST /images/prune`. */
export interface ImagePruneResponse { ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }

/** One line of the streamed JSON of `POST /images/create` and `POST /images/load`. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  stream?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message: string };
}
