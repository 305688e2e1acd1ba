/**
 * The greyed-out example text inside an empty input or select, as props for `v-bind`:
 * `<el-input v-bind="inputHint(t('queue.search'))" />`. One place names the HTML attribute (and the
 * Element Plus / Vant prop of the same name) so templates read as what they show: a hint.
 */
export function inputHint(text: string | null | undefined) {
  return { placeholder: text ?? '' }
}
