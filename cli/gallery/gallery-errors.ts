import { PipelineError } from '../../common/errors.js';

/**
 * A browser request the gallery refuses: an HTTP status, a stable code and a message the page shows
 * as it is. Never carries a stack or anything from the server's environment.
 */
export class GalleryRequestError extends PipelineError {
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 411 | 413 | 415 | 422 | 503,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}
