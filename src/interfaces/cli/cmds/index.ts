import type { Command } from 'commander'
import { registerDemo } from './demo.ts'
import { registerInit } from './init.ts'
import { registerNode } from './node.ts'
import { registerApply } from './apply.ts'
import { registerApprove } from './approve.ts'
import { registerPublish } from './publish.ts'
import { registerResolve } from './resolve.ts'
import { registerInspect } from './inspect.ts'
import { registerSim } from './sim.ts'
import { registerAudit } from './audit.ts'
import { registerProve } from './prove.ts'
import { registerVerify } from './verify.ts'
import { registerRevoke } from './revoke.ts'
import { registerInvite } from './invite.ts'
import { registerRegister } from './register.ts'
import { registerShare } from './share.ts'
import { registerFetch } from './fetch.ts'
import { registerExchange } from './exchange.ts'
import { registerList } from './list.ts'
import { registerRotate } from './rotate.ts'
import { registerReinstate } from './reinstate.ts'

/** Every command, one module each: options declared there, work done by the services. */
export function registerCommands (program: Command): void {
  registerDemo(program)
  registerInit(program)
  registerNode(program)
  registerApply(program)
  registerApprove(program)
  registerPublish(program)
  registerResolve(program)
  registerInspect(program)
  registerSim(program)
  registerAudit(program)
  registerProve(program)
  registerVerify(program)
  registerRevoke(program)
  registerInvite(program)
  registerRegister(program)
  registerShare(program)
  registerFetch(program)
  registerExchange(program)
  registerList(program)
  registerRotate(program)
  registerReinstate(program)
}
