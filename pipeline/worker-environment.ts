/** How often the worker's event loop touches its health file. */
export const HEALTH_FILE_TOUCH_SECONDS = 5;

/** The health file is stale, and the container unhealthy, after this long without a touch. */
export const HEALTH_FILE_STALE_SECONDS = 30;

/** The message attribute a message the worker sends to the DLQ itself carries: the id it had in the queue. */
export const ORIGINAL_MESSAGE_ID_ATTRIBUTE = 'alexnet-original-message-id';

/** A long poll's HTTP request may take its wait plus this long before it is abandoned. */
export const LONG_POLL_MARGIN_SECONDS = 5;
