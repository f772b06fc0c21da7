// The gallery page: plain JavaScript, no build step, no third-party code. Everything from the
// bucket (keys, labels, error messages) reaches the document as text (textContent), never as HTML.

const CARD_WIDTH = 232;
const CARD_HEIGHT = 392;
const GAP = 12;
/** Rows drawn above and below the visible ones, so a quick scroll shows no empty space. */
const OVERSCAN_ROWS = 2;
const CARDS_POLL_MS = 500;
const SUMMARY_POLL_MS = 2000;
const UPLOADS_AT_ONCE = 3;

const token = new URLSearchParams(location.search).get('token') ?? '';
const $ = (id) => document.getElementById(id);
const grid = $('grid');
const spacer = $('grid-spacer');

const state = {
  version: 0,
  /** key → card, as the server last sent it */
  cards: new Map(),
  /** the cards that pass the filters, in display order */
  shown: [],
  folders: new Set(),
  /** key → the card element on screen */
  onScreen: new Map(),
  columns: 1,
  loading: undefined,
  summary: undefined,
  untrainedNotice: '',
  dirty: false,
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token}` },
    cache: 'no-store',
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok)
    throw new ApiError(
      response.status,
      body.error?.code ?? 'HTTP_ERROR',
      body.error?.message ?? `the gallery answered HTTP ${response.status}`,
    );
  return body;
}

function showProblem(message) {
  const problem = $('problem');
  problem.hidden = !message;
  problem.textContent = message ?? '';
}

function thumbnailUrl(card) {
  return `/api/thumbnail?key=${encodeURIComponent(card.key)}&v=${encodeURIComponent(card.etag)}&token=${encodeURIComponent(token)}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** One card: its hooks are data-key (the upload key) and data-status (pending, ok or error). */
function buildCard(card) {
  const node = element('article', 'card');
  node.dataset.key = card.key;
  node.dataset.status = card.status;
  node.card = card;
  const image = element('img', 'thumb');
  image.alt = card.name;
  image.decoding = 'async';
  // The thumbnail is fetched once the grid holds still (see loadThumbnailsSoon): a fast scroll
  // through thousands of cards then asks the server for no image it passes over.
  image.dataset.src = thumbnailUrl(card);
  const name = element('h2', 'name', card.name);
  name.title = card.key;
  node.append(
    image,
    name,
    element('p', 'folder', card.folder || '(top folder)'),
    element('span', 'status', card.status),
  );
  if (card.status === 'ok') {
    if (card.pretrained === false) {
      const untrained = element('span', 'untrained', 'untrained weights');
      untrained.title = state.untrainedNotice;
      node.append(untrained);
    }
    const labels = element('ol', 'labels');
    for (const { label, score } of card.labels ?? []) {
      const item = element('li');
      const bar = element('span', 'bar');
      const fill = element('span');
      fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
      bar.append(fill);
      item.append(element('span', 'label', label), element('span', 'score', score.toFixed(3)), bar);
      labels.append(item);
    }
    node.append(labels);
  } else if (card.status === 'error') {
    node.append(
      element('p', 'error-code', card.error?.code ?? 'ERROR'),
      element('p', 'error-message', card.error?.message ?? ''),
    );
  } else {
    node.append(
      element('p', 'waiting', card.replaced ? 'replaced: waiting for the new result…' : 'waiting for its result…'),
    );
  }
  if (card.processedAt) {
    const time = element(
      'time',
      undefined,
      `processed ${formatTime(card.processedAt)}${card.device ? ` on ${card.device}` : ''}`,
    );
    time.dateTime = card.processedAt;
    node.append(time);
  }
  return node;
}

// ---- filters and order ----

function filterValues() {
  return {
    text: $('filter-text').value.trim().toLowerCase(),
    status: $('filter-status').value,
    folder: $('filter-folder').value,
    sort: $('sort').value,
  };
}

function passes(card, filters) {
  if (filters.status && card.status !== filters.status) return false;
  if (filters.folder && !card.folder.startsWith(filters.folder)) return false;
  if (!filters.text) return true;
  if (card.key.toLowerCase().includes(filters.text)) return true;
  if (card.labels?.some((entry) => entry.label.toLowerCase().includes(filters.text))) return true;
  return card.error !== undefined && `${card.error.code} ${card.error.message}`.toLowerCase().includes(filters.text);
}

function byName(a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function byNewest(a, b) {
  const at = a.processedAt ?? '';
  const bt = b.processedAt ?? '';
  return at === bt ? byName(a, b) : at < bt ? 1 : -1;
}

function refilter() {
  const filters = filterValues();
  const shown = [];
  for (const card of state.cards.values()) if (passes(card, filters)) shown.push(card);
  shown.sort(filters.sort === 'newest' ? byNewest : byName);
  state.shown = shown;
  const loading = state.loading ? ` (reading results: ${state.loading.read} of ${state.loading.total})` : '';
  $('shown').textContent = `${shown.length} of ${state.cards.size} shown${loading}`;
  showUntrainedNotice();
  layout();
}

/** The notice shows whenever labels from untrained weights are on the page or among the results. */
function showUntrainedNotice() {
  const untrained =
    (state.summary?.untrained ?? 0) > 0 ||
    state.shown.some((card) => card.status === 'ok' && card.pretrained === false);
  const notice = $('untrained-notice');
  notice.hidden = !untrained;
  notice.textContent = untrained ? state.untrainedNotice : '';
}

// ---- the virtual grid: only the rows in view are in the document ----

function layout() {
  const width = grid.clientWidth - GAP;
  state.columns = Math.max(1, Math.floor(width / (CARD_WIDTH + GAP)));
  const rows = Math.ceil(state.shown.length / state.columns);
  spacer.style.height = `${rows * (CARD_HEIGHT + GAP) + GAP}px`;
  draw();
}

function draw() {
  const rowHeight = CARD_HEIGHT + GAP;
  const firstRow = Math.max(0, Math.floor(grid.scrollTop / rowHeight) - OVERSCAN_ROWS);
  const lastRow = Math.ceil((grid.scrollTop + grid.clientHeight) / rowHeight) + OVERSCAN_ROWS;
  const end = Math.min(state.shown.length, (lastRow + 1) * state.columns);
  const wanted = new Set();
  for (let index = firstRow * state.columns; index < end; index += 1) {
    const card = state.shown[index];
    wanted.add(card.key);
    let node = state.onScreen.get(card.key);
    if (!node || node.card !== card) {
      const fresh = buildCard(card);
      if (node) node.replaceWith(fresh);
      else grid.append(fresh);
      node = fresh;
      state.onScreen.set(card.key, node);
    }
    const column = index % state.columns;
    const row = Math.floor(index / state.columns);
    node.style.transform = `translate(${GAP + column * (CARD_WIDTH + GAP)}px, ${GAP + row * rowHeight}px)`;
  }
  for (const [key, node] of state.onScreen) {
    if (!wanted.has(key)) {
      node.remove();
      state.onScreen.delete(key);
    }
  }
  loadThumbnailsSoon();
}

/** How long the grid must hold still before the thumbnails of the cards in view are fetched. */
const THUMBNAIL_DELAY_MS = 120;
let thumbnailTimer;
function loadThumbnailsSoon() {
  clearTimeout(thumbnailTimer);
  thumbnailTimer = setTimeout(() => {
    for (const image of grid.querySelectorAll('img[data-src]')) {
      image.src = image.dataset.src;
      image.removeAttribute('data-src');
    }
  }, THUMBNAIL_DELAY_MS);
}

let drawScheduled = false;
function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    if (state.dirty) {
      state.dirty = false;
      refilter();
    } else draw();
  });
}

function changed() {
  state.dirty = true;
  scheduleDraw();
}

// ---- folders ----

function addFolders(folder) {
  let added = false;
  for (let end = folder.indexOf('/'); end >= 0; end = folder.indexOf('/', end + 1)) {
    const prefix = folder.slice(0, end + 1);
    if (!state.folders.has(prefix)) {
      state.folders.add(prefix);
      added = true;
    }
  }
  return added;
}

function rebuildFolderChoices() {
  const select = $('filter-folder');
  const chosen = select.value;
  const options = [element('option', undefined, '(all folders)')];
  options[0].value = '';
  for (const folder of [...state.folders].sort()) {
    const option = element('option', undefined, folder);
    option.value = folder;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = chosen;
}

function uploadFolder() {
  return $('filter-folder').value;
}

function showUploadFolder() {
  const root = state.summary?.root ?? '';
  $('upload-folder').textContent = root + uploadFolder();
  $('drop-folder').textContent = root + uploadFolder();
}

// ---- talking to the server ----

function applyChanges(changes) {
  if (changes.untrainedNotice) state.untrainedNotice = changes.untrainedNotice;
  let foldersChanged = false;
  for (const card of changes.cards) {
    state.cards.set(card.key, card);
    if (addFolders(card.folder)) foldersChanged = true;
  }
  for (const key of changes.removed) state.cards.delete(key);
  const wasLoading = state.loading !== undefined;
  state.loading = changes.loading;
  if (foldersChanged) rebuildFolderChoices();
  if (changes.cards.length > 0 || changes.removed.length > 0 || wasLoading) changed();
  state.version = changes.version;
}

async function pollCards() {
  let delay = CARDS_POLL_MS;
  try {
    applyChanges(await api(`/api/cards?since=${state.version}`));
    if (state.loading) delay = 250;
  } catch (error) {
    if (!handleFailure(error)) return;
  }
  setTimeout(pollCards, delay);
}

function showCount(name, value, title) {
  const node = document.querySelector(`[data-count="${name}"]`);
  node.textContent = value === null || value === undefined ? '—' : String(value);
  if (title) node.title = title;
}

async function pollSummary() {
  try {
    const summary = await api('/api/summary');
    state.summary = summary;
    state.untrainedNotice = summary.untrainedNotice;
    // A folder outside the uploads prefix (another bucket's, say) is shown, not uploaded into.
    $('upload').hidden = summary.readOnly === true;
    $('target').textContent = `${summary.target} · s3://${summary.bucket}/${summary.root}`;
    showCount('uploaded', summary.counts.uploaded);
    showCount('done', summary.counts.done);
    showCount('errors', summary.counts.errors);
    showCount('pending', summary.counts.pending);
    showCount(
      'queue',
      summary.queue ? summary.queue.visible + summary.queue.inFlight : null,
      summary.queue
        ? `${summary.queue.visible} waiting, ${summary.queue.inFlight} being processed`
        : 'no queue URL given (--queue-url)',
    );
    showCount(
      'dlq',
      summary.deadLetters,
      summary.deadLetters === null ? 'no dead-letter queue URL given (--dlq-url)' : undefined,
    );
    showUntrainedNotice();
    $('file-input').accept = Object.keys(summary.limits.mediaTypeByExtension).join(',');
    showProblem(summary.problem ?? summary.queueProblem);
    showUploadFolder();
  } catch (error) {
    if (!handleFailure(error)) return;
  }
  setTimeout(pollSummary, SUMMARY_POLL_MS);
}

/** Shows a failure; false when polling must stop (the token is refused: nothing will work). */
function handleFailure(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    showProblem(`${error.message}`);
    return false;
  }
  showProblem(`the gallery's server does not answer (${error.message}); retrying`);
  return true;
}

// ---- uploads: the file picker and drag-and-drop ----

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot >= 0 ? name.slice(dot).toLowerCase() : '';
}

/** Why the server would refuse this file, checked before it is sent; undefined when it may go. */
function refusalOf(file) {
  const limits = state.summary?.limits;
  if (!limits) return 'the gallery is still connecting; try again in a moment';
  if (!(extensionOf(file.name) in limits.mediaTypeByExtension))
    return `not an image the pipeline reads (${limits.describeExtensions})`;
  if (file.type && !Object.values(limits.mediaTypeByExtension).includes(file.type))
    return `its type ${file.type} is not one the pipeline reads`;
  if (file.size > limits.maxBytes) return `${file.size} bytes, more than the limit of ${limits.maxBytes}`;
  if (file.size === 0) return 'the file is empty';
  return undefined;
}

/** The type the browser gave the file, else the one its ending has (refusalOf has checked the ending). */
function mediaTypeOf(file) {
  return file.type || state.summary.limits.mediaTypeByExtension[extensionOf(file.name)];
}

function uploadOne(file, folder, row) {
  return new Promise((resolve) => {
    const progress = row.querySelector('progress');
    const status = row.querySelector('.upload-status');
    const request = new XMLHttpRequest();
    request.open('PUT', `/api/upload?folder=${encodeURIComponent(folder)}&name=${encodeURIComponent(file.name)}`);
    request.setRequestHeader('authorization', `Bearer ${token}`);
    request.setRequestHeader('content-type', mediaTypeOf(file));
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    };
    request.onload = () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // not JSON: the status says enough
      }
      if (request.status === 201) {
        progress.value = 1;
        row.className = 'uploaded';
        status.textContent = `uploaded as ${body.key}`;
      } else {
        row.className = 'failed';
        status.textContent = `refused: ${body.error?.message ?? `HTTP ${request.status}`}`;
      }
      resolve();
    };
    request.onerror = () => {
      row.className = 'failed';
      status.textContent = 'failed: the gallery did not answer';
      resolve();
    };
    request.send(file);
  });
}

async function uploadFiles(files) {
  const folder = uploadFolder();
  const list = $('upload-list');
  const accepted = [];
  for (const file of files) {
    const row = element('li');
    row.dataset.file = file.name;
    const progress = element('progress');
    progress.max = 1;
    progress.value = 0;
    row.append(element('span', 'upload-name', file.name), progress, element('span', 'upload-status', 'waiting'));
    list.prepend(row);
    const refusal = refusalOf(file);
    if (refusal) {
      row.className = 'refused';
      row.querySelector('.upload-status').textContent = `not uploaded: ${refusal}`;
      progress.remove();
    } else accepted.push({ file, row });
  }
  const workers = Array.from({ length: Math.min(UPLOADS_AT_ONCE, accepted.length) }, async () => {
    for (let next = accepted.shift(); next; next = accepted.shift()) await uploadOne(next.file, folder, next.row);
  });
  await Promise.all(workers);
}

function wireUploads() {
  const input = $('file-input');
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    void uploadFiles(files);
  });
  const overlay = $('drop-overlay');
  let depth = 0;
  const carriesFiles = (event) =>
    state.summary?.readOnly !== true && event.dataTransfer && [...event.dataTransfer.types].includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    overlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) overlay.hidden = true;
  });
  document.addEventListener('dragover', (event) => {
    if (carriesFiles(event)) event.preventDefault();
  });
  document.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    void uploadFiles([...event.dataTransfer.files]);
  });
}

// ---- start ----

function start() {
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  for (const id of ['filter-text', 'filter-status', 'filter-folder', 'sort']) $(id).addEventListener('input', changed);
  $('filter-folder').addEventListener('input', showUploadFolder);
  grid.addEventListener('scroll', scheduleDraw, { passive: true });
  new ResizeObserver(() => layout()).observe(grid);
  wireUploads();
  if (!token) {
    showProblem(
      'this page needs the gallery token: open the URL that `alexnet-pipeline gallery` (or `local --serve`) printed, ending in ?token=…',
    );
    return;
  }
  void pollSummary();
  void pollCards();
}

start();
