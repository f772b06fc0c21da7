// moto's server lives beside the embedded emulators (the fault suite starts it too).
export { motoAvailable, noMoto, startMoto } from '../../local/moto-server.js';
