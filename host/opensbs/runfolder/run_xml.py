"""RunInfo.xml and RunParameters.xml, as the InterOp library and bcl2fastq read them."""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..recipe import Recipe


def run_id(date_yymmdd: str, instrument: str, run_number: int, flowcell_id: str) -> str:
    """Illumina-style run id: YYMMDD_INSTRUMENT_NNNN_FLOWCELL."""
    return f"{date_yymmdd}_{instrument}_{run_number:04d}_{flowcell_id}"


def run_info_xml(recipe: Recipe, run_id_text: str, run_number: int, date_yymmdd: str) -> str:
    """RunInfo.xml: reads, one lane, tiles named with four digits, and the image channels.
    The i5 read of a reverse-complement workflow is marked IsReverseComplement="Y" (as the
    NovaSeq X marks it; BCL Convert then matches the sheet's Index2 reverse-complemented)."""
    fc = recipe.flowcell
    i5 = [n for n, r in enumerate(recipe.reads, start=1) if r.index][1:2]
    reverse = set(i5) if recipe.i5_reverse_complement else set()
    reads = "\n".join(
        f'      <Read Number="{n}" NumCycles="{r.cycles}" IsIndexedRead="{"Y" if r.index else "N"}"'
        f' IsReverseComplement="{"Y" if n in reverse else "N"}"/>'
        for n, r in enumerate(recipe.reads, start=1))
    tiles = "\n".join(f"            <Tile>{fc.lane}_{t}</Tile>" for t in fc.tile_numbers())
    channels = "\n".join(f"      <Name>{escape(c.lower())}</Name>" for c in recipe.channel_names)
    return f"""<?xml version="1.0"?>
<RunInfo Version="5">
  <Run Id="{escape(run_id_text)}" Number="{run_number}">
    <Flowcell>{escape(recipe.run.flowcell_id)}</Flowcell>
    <Instrument>{escape(recipe.run.instrument)}</Instrument>
    <Date>{date_yymmdd}</Date>
    <Reads>
{reads}
    </Reads>
    <FlowcellLayout LaneCount="{fc.lane}" SurfaceCount="{fc.surface}" SwathCount="{fc.swath}" \
TileCount="{fc.tiles}">
      <TileSet TileNamingConvention="FourDigit">
        <Tiles>
{tiles}
        </Tiles>
      </TileSet>
    </FlowcellLayout>
    <ImageDimensions Width="{fc.width_px}" Height="{fc.height_px}"/>
    <ImageChannels>
{channels}
    </ImageChannels>
  </Run>
</RunInfo>
"""


def run_parameters_xml(recipe: Recipe, run_id_text: str, run_number: int,
                       software_version: str) -> str:
    """RunParameters.xml: application, chemistry, read structure and recipe settings."""
    reads = "\n".join(
        f'    <Read Number="{n}" NumCycles="{r.cycles}" IsIndexedRead="{"Y" if r.index else "N"}"/>'
        for n, r in enumerate(recipe.reads, start=1))
    channels = "\n".join(
        f'    <Channel Name="{escape(c.name)}" ExposureMicroseconds="{c.exposure_us}" '
        f'LaserMilliwatts="{c.laser_mw}"/>' for c in recipe.imaging.channels)
    return f"""<?xml version="1.0"?>
<RunParameters>
  <RunId>{escape(run_id_text)}</RunId>
  <RunNumber>{run_number}</RunNumber>
  <InstrumentName>{escape(recipe.run.instrument)}</InstrumentName>
  <FlowCellSerial>{escape(recipe.run.flowcell_id)}</FlowCellSerial>
  <Setup>
    <ApplicationName>OpenSBS</ApplicationName>
    <ApplicationVersion>{escape(software_version)}</ApplicationVersion>
    <Chemistry>{escape(recipe.run.chemistry)}</Chemistry>
    <RecipeName>{escape(recipe.run.name)}</RecipeName>
  </Setup>
  <Reads>
{reads}
  </Reads>
  <ImagingChannels BitDepth="{recipe.imaging.bit_depth}">
{channels}
  </ImagingChannels>
</RunParameters>
"""
