import { stateOf } from '../../state/mask-ops.ts';
import { useActions, useApp } from '../../state/use-app.ts';

/** Off and Force for one ranked expert, each one click (again: back to normal); they edit the Steering mask. */
export function RankingRowActions({ layer, expert }: { layer: number; expert: number }) {
  const state = useApp((s) => stateOf(s.steering.mask, layer, expert));
  const { setExpertState } = useActions();
  const button = (target: 'off' | 'forced', text: string) => (
    <button
      type="button"
      className={state === target ? 'mini' : 'mini secondary'}
      aria-pressed={state === target}
      tabIndex={-1}
      title={state === target ? `back to normal in the Steering mask` : `${target === 'off' ? 'switch off' : 'force'} layer ${layer} expert ${expert} in the Steering mask`}
      onClick={(e) => {
        e.stopPropagation();
        setExpertState(layer, expert, target, true);
      }}
      data-testid={`ranking-${target === 'off' ? 'off' : 'force'}`}
    >
      {text}
    </button>
  );
  return <td className="row-actions">{button('off', 'off')}{button('forced', 'force')}</td>;
}
