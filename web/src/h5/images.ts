/**
 * Client-side photo compression before upload: phone cameras produce 4–12 MB images, which are slow
 * on mobile networks and mostly wasted on a repair request. Each picture is drawn onto a canvas at
 * most MAX_EDGE pixels on its longer side and re-encoded as JPEG. The server still sniffs the type
 * and enforces its own size limit; this only makes uploads small.
 */
export const MAX_EDGE = 1600
export const JPEG_QUALITY = 0.82
export const MAX_PHOTOS = 6

async function decode(file: Blob): Promise<ImageBitmap | HTMLImageElement> {
  if (typeof createImageBitmap === 'function') {
    // from-image honours the EXIF orientation of phone photos.
    return createImageBitmap(file, { imageOrientation: 'from-image' })
  }
  const url = URL.createObjectURL(file)
  try {
    const image = new Image()
    image.decoding = 'async'
    image.src = url
    await image.decode()
    return image
  } finally {
    URL.revokeObjectURL(url)
  }
}

/** Width and height scaled so the longer side is at most `maxEdge` (never enlarged). */
export function fitWithin(width: number, height: number, maxEdge = MAX_EDGE): { width: number; height: number } {
  const scale = Math.min(1, maxEdge / Math.max(width, height))
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) }
}

function jpegName(name: string): string {
  const stem = name.replace(/\.[^./\\]*$/, '') || 'photo'
  return `${stem}.jpg`
}

/**
 * The photo as a JPEG of at most MAX_EDGE px on its longer side. A picture the browser cannot decode
 * (an unusual format) is returned unchanged so the server can accept or refuse it with a clear error.
 */
export async function compressImage(file: File, maxEdge = MAX_EDGE, quality = JPEG_QUALITY): Promise<File> {
  let source: ImageBitmap | HTMLImageElement
  try {
    source = await decode(file)
  } catch {
    return file
  }
  const originalWidth = source.width
  const { width, height } = fitWithin(source.width, source.height, maxEdge)
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const context = canvas.getContext('2d')
  if (!context) return file
  // JPEG has no transparency: paint transparent PNG areas white rather than black.
  context.fillStyle = '#fff'
  context.fillRect(0, 0, width, height)
  context.drawImage(source, 0, 0, width, height)
  if ('close' in source) source.close()
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
  if (!blob) return file
  // A small JPEG that is already within bounds may grow when re-encoded: keep the smaller one.
  if (file.type === 'image/jpeg' && blob.size >= file.size && width === originalWidth) return file
  return new File([blob], jpegName(file.name), { type: 'image/jpeg', lastModified: Date.now() })
}
