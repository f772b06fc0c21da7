import { CheckpointError } from './checkpoint-errors.js';

/** A Python global the pickle names (`GLOBAL module name`). */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/** What the caller allows: each global a state_dict needs, as the value it stands for. */
export interface UnpicklerPolicy {
  /** The value of an allowed global; anything else must throw (nothing is ever imported or run). */
  resolveGlobal(module: string, name: string): unknown;
  /** `REDUCE`: call an allowed callable with its arguments (a plain JS function of the caller's). */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** `BUILD`: apply a state to an object (OrderedDict's attributes); refuse what is not expected. */
  build(target: unknown, state: unknown): unknown;
  /** `BINPERSID`: what a persistent id stands for (a tensor storage). */
  persistentLoad(pid: unknown): unknown;
}

/** A Python dict with its insertion order (keys are strings or numbers here). */
export class PickleDict extends Map<unknown, unknown> {}

/** The result of one pickle: its value and where the next byte after its STOP is. */
export interface Unpickled {
  readonly value: unknown;
  readonly end: number;
}

const MARK = Symbol('mark');

/**
 * Bounds on what one pickle may build, far above what a state_dict needs (a stack a few dozen deep,
 * a few hundred memo entries) and far below what would exhaust memory: a small hostile file cannot
 * make the reader allocate without limit. (The pickle's own size is bounded by its reader, so the
 * number of opcodes is too.)
 */
export const PICKLE_LIMITS = {
  /** Values on the stack at once (a MARK counts). */
  maxStack: 100_000,
  /** Entries in the memo. */
  maxMemo: 1_000_000,
  /** Bytes of one string or byte string. */
  maxStringBytes: 1_000_000,
} as const;

/**
 * A pickle reader for the subset `torch.save` writes (protocols 2 to 5): containers, numbers,
 * strings, memo, persistent ids, and GLOBAL / REDUCE / BUILD only through the caller's policy. It
 * never imports a module or calls anything of the file's: an opcode outside the subset, or a global
 * the policy refuses, is a {@link CheckpointError} before anything happens.
 */
export function unpickle(bytes: Uint8Array, start: number, policy: UnpicklerPolicy): Unpickled {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let position = start;

  const need = (count: number) => {
    if (count < 0 || position + count > bytes.length) throw truncated();
  };
  const u8 = () => (need(1), bytes[position++]!);
  const u16 = () => (need(2), (position += 2), view.getUint16(position - 2, true));
  const u32 = () => (need(4), (position += 4), view.getUint32(position - 4, true));
  const i32 = () => (need(4), (position += 4), view.getInt32(position - 4, true));
  const u64 = () => {
    need(8);
    const value = view.getBigUint64(position, true);
    position += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable('a length in the pickle is impossibly large');
    return Number(value);
  };
  const take = (count: number) => (need(count), (position += count), bytes.subarray(position - count, position));
  /** The next `count` bytes of a string: a length past the limit or past the end is refused before anything is read. */
  const stringBytes = (count: number) => {
    if (count > PICKLE_LIMITS.maxStringBytes)
      throw unreadable(
        `a string of ${count} bytes, more than the ${PICKLE_LIMITS.maxStringBytes} a state_dict's names need`,
      );
    return take(count);
  };
  const text = (count: number) => {
    const raw = stringBytes(count);
    try {
      return decoder.decode(raw);
    } catch (error) {
      throw unreadable('a string in the pickle is not valid UTF-8', error);
    }
  };
  const push = (value: unknown) => {
    if (stack.length >= PICKLE_LIMITS.maxStack)
      throw unreadable(`its stack grows past ${PICKLE_LIMITS.maxStack} values, which no state_dict needs`);
    stack.push(value);
  };
  const remember = (index: number, value: unknown) => {
    if (memo.size >= PICKLE_LIMITS.maxMemo && !memo.has(index))
      throw unreadable(`its memo grows past ${PICKLE_LIMITS.maxMemo} entries, which no state_dict needs`);
    memo.set(index, value);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, position);
    if (end < 0) throw truncated();
    const value = latin1.decode(bytes.subarray(position, end));
    position = end + 1;
    return value;
  };
  const pop = () => {
    if (stack.length === 0) throw unreadable('the pickle pops from an empty stack');
    const value = stack.pop();
    if (value === MARK) throw unreadable('the pickle pops a mark as a value');
    return value;
  };
  const popMark = () => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw unreadable('the pickle has no mark to pop to');
    return stack.splice(at).slice(1);
  };
  const top = () => {
    const value = stack.at(-1);
    if (stack.length === 0 || value === MARK) throw unreadable('the pickle has no value on its stack');
    return value;
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) throw unreadable(`the pickle refers to memo ${index}, which it never stored`);
    return memo.get(index);
  };
  const setItems = (dict: unknown, items: readonly unknown[]) => {
    if (!(dict instanceof PickleDict)) throw unreadable('the pickle sets items on something that is not a dict');
    if (items.length % 2 !== 0) throw unreadable('the pickle sets an odd number of dict items');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: readonly unknown[]) => {
    if (!Array.isArray(list)) throw unreadable('the pickle appends to something that is not a list');
    // One at a time: spreading a few hundred thousand items into push() overflows the call stack.
    for (const item of items) list.push(item);
  };

  for (;;) {
    const opcode = u8();
    switch (opcode) {
      case 0x80: // PROTO
        if (u8() > 5) throw unreadable('the pickle uses a protocol newer than 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw unreadable('the pickle ends with an unbalanced stack');
        return { value: stack[0], end: position };
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x8a: {
        // LONG1: a little-endian two's complement integer of n bytes (the legacy magic number is one)
        const length = u8();
        const digits = take(length);
        let value = 0n;
        for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]!);
        if (length > 0 && digits[length - 1]! >= 0x80) value -= 1n << BigInt(8 * length);
        push(
          value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value,
        );
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        push(view.getFloat64(position, false));
        position += 8;
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        push(latin1.decode(stringBytes(u8())));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        push(latin1.decode(stringBytes(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        push(stringBytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(stringBytes(u32()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x61: {
        // APPEND
        const value = pop();
        append(top(), [value]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PickleDict());
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        remember(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        remember(u32(), top());
        break;
      case 0x94: // MEMOIZE
        remember(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(policy.resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw unreadable('STACK_GLOBAL without a module and name');
        push(policy.resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) throw unreadable('REDUCE without an argument tuple');
        push(policy.reduce(callable, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        push(policy.build(pop(), state));
        break;
      }
      case 0x51: // BINPERSID
        push(policy.persistentLoad(pop()));
        break;
      default:
        throw new CheckpointError(
          'CHECKPOINT_UNSAFE',
          `the pickle uses opcode 0x${opcode.toString(16).padStart(2, '0')} at byte ${position - 1}, which a state_dict never needs; refused, nothing was run`,
        );
    }
  }
}

function unreadable(why: string, cause?: unknown): CheckpointError {
  return new CheckpointError('CHECKPOINT_UNREADABLE', `not a readable PyTorch checkpoint: ${why}`, { cause });
}

function truncated(): CheckpointError {
  return new CheckpointError('CHECKPOINT_UNREADABLE', 'the checkpoint is truncated: its pickle ends before its STOP');
}
