"""Demo content: the organisation, people and the ticket scenarios the seeder draws from.

The scenarios follow the product brief (brief/): retail returns, 奶茶店设备报修, 课程退费 and 直播卡顿,
蛋糕定制, 药店配送, 信用卡办卡, 4S 店保养预约, 母婴奶粉咨询 and more. Texts carry ``{slot}`` markers
that the seeder fills per ticket, so the same scenario reads differently from ticket to ticket."""

from __future__ import annotations

from dataclasses import dataclass, field

TENANT_SLUG = "demo"
TENANT_NAME = "汇流演示企业"
ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "huiliu-demo"
ADMIN_NAME = "系统管理员"
STAFF_EMAIL_DOMAIN = "demo.local"

# Department tree: department -> teams below it.
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "客服中心": ("售前组", "售后组", "投诉处理组"),
    "技术支持部": ("华南维修组", "华东维修组"),
}


@dataclass(frozen=True)
class Person:
    name: str
    login: str  # the part of the e-mail address before @demo.local

    @property
    def email(self) -> str:
        return f"{self.login}@{STAFF_EMAIL_DOMAIN}"


# One lead per node of the tree (department heads see their whole subtree).
LEADS: dict[str, Person] = {
    "客服中心": Person("周雅琴", "zhou.yaqin"),
    "技术支持部": Person("郑国栋", "zheng.guodong"),
    "售前组": Person("林晓燕", "lin.xiaoyan"),
    "售后组": Person("陈志强", "chen.zhiqiang"),
    "投诉处理组": Person("黄丽君", "huang.lijun"),
    "华南维修组": Person("梁伟明", "liang.weiming"),
    "华东维修组": Person("徐海峰", "xu.haifeng"),
}

# Twenty agents, team-scoped.
AGENTS: dict[str, tuple[Person, ...]] = {
    "售前组": (
        Person("王芳", "wang.fang"),
        Person("李娜", "li.na"),
        Person("张敏", "zhang.min"),
        Person("刘洋", "liu.yang"),
    ),
    "售后组": (
        Person("陈静", "chen.jing"),
        Person("杨帆", "yang.fan"),
        Person("赵磊", "zhao.lei"),
        Person("吴婷", "wu.ting"),
        Person("孙浩", "sun.hao"),
    ),
    "投诉处理组": (Person("马丽", "ma.li"), Person("朱晨", "zhu.chen"), Person("胡蓉", "hu.rong")),
    "华南维修组": (
        Person("何俊杰", "he.junjie"),
        Person("罗伟", "luo.wei"),
        Person("郭子豪", "guo.zihao"),
        Person("谢振华", "xie.zhenhua"),
    ),
    "华东维修组": (
        Person("高建国", "gao.jianguo"),
        Person("沈佳怡", "shen.jiayi"),
        Person("钱磊", "qian.lei"),
        Person("蒋文博", "jiang.wenbo"),
    ),
}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红",
    "玉兰",
    "鑫",
    "斌",
    "宇",
    "浩",
    "凯",
    "婷",
    "雪",
    "琳",
    "晨",
    "欣怡",
    "子轩",
    "梓涵",
    "一诺",
    "思远",
    "佳琪",
    "雨桐",
    "嘉怡",
    "俊熙",
    "若曦",
    "浩然",
    "晓东",
    "海燕",
    "春梅",
    "志明",
    "丽华",
    "建军",
    "国强",
    "慧",
    "倩",
    "颖",
    "萌",
    "蕾",
)

# Valid mainland mobile prefixes (the numbers themselves are random and fake).
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "195",
    "198",
    "199",
)
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "outlook.com", "139.com")

CHANNELS = (
    "wechat_mp",
    "wecom_app",
    "wecom_kf",
    "mini_program",
    "h5_form",
    "douyin",
    "email",
    "api",
    "phone",
)
CHANNEL_INTAKE_NAMES = {
    "wechat_mp": "公众号接入",
    "wecom_app": "企业微信应用",
    "wecom_kf": "微信客服接入",
    "mini_program": "小程序接入",
    "h5_form": "H5 表单接入",
    "douyin": "抖音私信接入",
    "email": "邮件接入",
    "api": "ERP 订单系统 (API)",
    "phone": "电话录入",
}

SOUTH_CITIES = ("广州", "深圳", "佛山", "东莞", "厦门", "珠海")
EAST_CITIES = ("上海", "杭州", "南京", "苏州", "宁波", "无锡")
OTHER_CITIES = ("北京", "成都", "武汉", "西安", "长沙", "重庆", "天津", "郑州")


@dataclass(frozen=True)
class Scenario:
    """One kind of request and everything said while handling it."""

    key: str
    label: str  # what the team calls this request (退货退款), in routing reasons
    # A key of the default taxonomy (intelligence.taxonomy.DEFAULT_CATEGORIES), by its README's
    # definitions: a course refund is refund_return, a 4S maintenance appointment booking.
    category: str
    scenario: str  # presales / sales / aftersales / complaint
    team: str  # "华南维修组" is chosen by city for the repair teams (see ``REGIONAL``)
    channels: tuple[str, ...]
    priorities: tuple[tuple[str, int], ...]
    # titles[i] goes with descriptions[i]; "|" separates alternative wordings of one title.
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    follow_ups: tuple[str, ...]
    replies: tuple[str, ...]
    notes: tuple[str, ...]
    resolutions: tuple[str, ...]
    tags: tuple[str, ...]
    weight: int
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Hours (Asia/Shanghai) and weekdays (0 = Monday) when this request comes in more often.
    busy_hours: tuple[int, ...] = ()
    busy_weekdays: tuple[int, ...] = ()


REGIONAL = "regional"  # the team is 华南维修组 or 华东维修组 depending on the city

NORMAL = (("normal", 70), ("high", 18), ("low", 10), ("urgent", 2))
URGENTISH = (("high", 45), ("urgent", 20), ("normal", 35))
CALM = (("normal", 60), ("low", 35), ("high", 5))

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        key="retail_return",
        label="退货退款",
        category="refund_return",
        scenario="aftersales",
        team="售后组",
        channels=("wechat_mp", "mini_program", "wecom_kf", "api", "email"),
        priorities=NORMAL,
        weight=14,
        titles=(
            "订单{order}申请退货退款|{product}不合适,想退货",
            "退货寄回后一直没退款({order})",
            "七天无理由退货:{product}",
        ),
        descriptions=(
            "{date}在小程序买的{product},收到后发现{defect},想申请退货退款,订单号{order}。",
            "订单{order}的{product}已经按要求寄回了,快递单号{tracking},仓库签收三天了还没看到退款{amount}。",
            "{product}拆封后{defect},包装都还在,麻烦帮忙办理七天无理由退货,订单{order}。",
        ),
        follow_ups=(
            "退款大概几天能到账?",
            "快递员已经取件了,单号{tracking}",
            "我在App里看退款状态还是审核中",
            "能不能直接退到微信零钱?",
        ),
        replies=(
            "您好,退货申请已为您登记,请在7天内寄回商品并保留快递单号。",
            "仓库已确认收到您寄回的{product},退款{amount}将在1-3个工作日原路退回。",
            "已帮您加急处理,财务今天会提交退款,请留意微信支付通知。",
        ),
        notes=(
            "已在ERP核对订单{order},商品在无理由退货期内。",
            "仓库反馈退回商品外包装完好,可二次销售。",
            "客户是第三次退货,已在客户档案里备注。",
        ),
        resolutions=(
            "退款{amount}已原路退回,预计2小时内到账,感谢您的耐心。",
            "退货退款已完成,如有其他问题随时联系我们。",
        ),
        tags=("退货", "电商", "七天无理由"),
        slots={
            "product": ("羊绒围巾", "蓝牙耳机", "儿童雨靴", "空气炸锅", "真丝睡衣", "保温杯", "运动鞋"),
            "defect": ("颜色和图片差别很大", "尺码偏小", "有一处脱线", "外壳有划痕", "开机没反应"),
        },
        busy_hours=(20, 21, 22),
    ),
    Scenario(
        key="retail_logistics",
        label="物流配送",
        category="logistics",
        scenario="aftersales",
        team="售后组",
        channels=("wechat_mp", "mini_program", "douyin", "wecom_kf"),
        priorities=NORMAL,
        weight=9,
        titles=(
            "订单{order}五天了还没发货|付款五天还是待发货",
            "快递显示签收但没收到货",
            "包裹破损:{product}",
        ),
        descriptions=(
            "订单{order}付款已经五天了,页面一直显示待发货,着急用,能不能帮忙催一下?",
            "物流显示{date}已签收,但我家里和驿站都没有,订单{order},快递单号{tracking}。",
            "刚收到的包裹外箱被压扁了,里面的{product}有破损,附上开箱照片,订单{order}。",
        ),
        follow_ups=("还是没有动静,麻烦再催一下", "驿站老板说没见过这个件", "照片已经在对话里发了"),
        replies=(
            "已联系仓库,您的订单今天下午发出,发货后会推送物流单号。",
            "已向快递公司发起丢件核查,24小时内给您答复。",
            "非常抱歉给您带来不便,破损商品我们直接为您补发,无需寄回。",
        ),
        notes=("快递网点反馈派件员误投到隔壁小区,已安排找回。", "已在仓储系统提交补发单。"),
        resolutions=("补发的{product}已签收,给您补偿了一张10元无门槛券。", "快递已重新派送成功,请查收。"),
        tags=("物流", "电商"),
        slots={"product": ("陶瓷餐具套装", "玻璃花瓶", "电饭煲", "茶具礼盒", "显示器")},
    ),
    Scenario(
        key="retail_presale",
        label="商品咨询",
        category="consultation",
        scenario="presales",
        team="售前组",
        channels=("wechat_mp", "mini_program", "douyin", "wecom_app", "h5_form"),
        priorities=CALM,
        weight=8,
        titles=(
            "{product}还有现货吗|{product}{city}能送吗",
            "直播间看到的{product}怎么下单|{product}参数咨询",
            "{product}有没有团购价",
        ),
        descriptions=(
            "想问下{product}在{city}有没有现货,这周末能不能送到?",
            "刷抖音看到你们直播间的{product},请问和旗舰店卖的是同一款吗?有没有赠品?",
            "公司要采购{qty}台{product},能开专票吗?有没有企业团购价?",
        ),
        follow_ups=("那颜色有哪几种可选?", "好的,我先下单了", "企业采购需要签合同吗?"),
        replies=(
            "您好,{product}{city}仓有现货,今天下单明天可以送达。",
            "直播间和旗舰店是同一款,直播间下单额外赠送一年延保。",
            "企业团购{qty}台以上可享95折,我把专属链接发您。",
        ),
        notes=("客户意向明确,已转给大客户经理跟进商机。", "已在商机里登记采购数量{qty}台。"),
        resolutions=("已为您下单锁定库存,订单号{order}。", "报价单已发到您邮箱,有问题随时联系。"),
        tags=("售前咨询", "商机"),
        slots={
            "product": ("扫地机器人", "净水器", "洗碗机", "投影仪", "电动牙刷"),
            "qty": ("20", "35", "50", "120"),
        },
    ),
    Scenario(
        key="tea_device_repair",
        label="设备报修",
        category="installation_repair",
        scenario="aftersales",
        team=REGIONAL,
        channels=("mini_program", "wecom_app", "h5_form"),
        priorities=URGENTISH,
        weight=12,
        titles=(
            "{store}{device}故障报修|紧急:{store}{device}{symptom}",
            "{device}报错{error}",
            "{store}{device}不工作了,影响出杯",
        ),
        descriptions=(
            "{city}{store}的{device}从早上开始{symptom},设备序列号{sn},照片已上传,麻烦尽快派人。",
            "店里{device}显示故障码{error},重启了两次还是不行,高峰期快到了,求助!门店:{store}。",
            "一键报修:{store} {device} {symptom}。设备型号{model},序列号{sn}。",
        ),
        follow_ups=("师傅大概几点能到?", "现在只能先用备用机,出杯很慢", "刚才又报了一次{error}"),
        replies=(
            "已收到报修,{city}维修师傅预计2小时内上门,请保持电话畅通。",
            "麻烦先断电十分钟再重启试一下,如果还是{error}我们安排上门。",
            "配件已从{city}仓调出,师傅今天下午到店更换。",
        ),
        notes=(
            "该门店近三个月第三次报修同类问题,建议整机返厂检测。",
            "已派{engineer}上门,携带备用压缩机。",
            "远程查看设备日志,温控模块异常。",
        ),
        resolutions=(
            "师傅已更换{part},设备恢复正常出杯,请店长在工单里签字确认。",
            "设备已修复并做了全面保养,本次维修在保修期内不收费。",
        ),
        tags=("设备报修", "奶茶门店", "现场服务"),
        slots={
            "device": ("制冰机", "封口机", "果糖机", "开水器", "冷藏工作台", "萃茶机"),
            "symptom": ("不出冰", "封口不严", "出糖量不准", "加热很慢", "温度降不下来", "一直报警"),
            "error": ("E03", "E17", "F2", "H1", "E08"),
            "model": ("ZB-450", "FK-95", "GT-16", "KS-30L"),
            "part": ("温控板", "压缩机继电器", "加热管", "封口膜刀片", "进水电磁阀"),
            "engineer": ("何师傅", "罗师傅", "高师傅", "沈师傅"),
        },
        busy_hours=(10, 11, 14, 15),
        busy_weekdays=(2,),
    ),
    Scenario(
        key="tea_complaint",
        label="门店服务投诉",
        category="product_quality",
        scenario="complaint",
        team="投诉处理组",
        channels=("h5_form", "wechat_mp", "douyin", "mini_program"),
        priorities=URGENTISH,
        weight=6,
        titles=(
            "{store}出餐太慢",
            "外卖奶茶洒了一半",
            "奶茶里有异物",
        ),
        descriptions=(
            "扫小票上的二维码反馈:{date}在{store}点了两杯{drink},等了40分钟才拿到,店里说外卖单太多。",
            "外卖送到的{drink}封口破了,洒了一半在袋子里,订单{order},希望给个说法。",
            "在{store}买的{drink}喝到一块塑料片,已经拍照,非常影响心情,要求退款并解释原因。",
        ),
        follow_ups=("我只想要个解释", "退款收到了,但希望门店改进", "已经等了一天了还没人联系我"),
        replies=(
            "非常抱歉给您带来不好的体验,已通知{store}店长核实,今天内给您回复。",
            "已为您全额退款{amount},并补偿一张饮品兑换券。",
            "门店已调取监控,确认是封口机压力不足,已安排检修。",
        ),
        notes=("周三下午外卖订单集中,该店出餐压力大,建议增加排班。", "已联系店长,店员已做服务培训。"),
        resolutions=("已退款并致歉,客户表示接受,门店整改措施已记录。", "客户已收到补偿券,同意结案。"),
        tags=("投诉", "奶茶门店", "出餐"),
        slots={"drink": ("杨枝甘露", "芝士葡萄", "珍珠奶茶", "柠檬茶", "生椰拿铁")},
        busy_hours=(15, 16),
        busy_weekdays=(2,),
    ),
    Scenario(
        key="edu_refund",
        label="课程退费",
        category="refund_return",
        scenario="aftersales",
        team="售后组",
        channels=("wechat_mp", "wecom_app", "wecom_kf", "h5_form"),
        priorities=NORMAL,
        weight=8,
        titles=(
            "申请退{course}的课程费用|孩子不想上了,{course}能退费吗",
            "{course}换了三次老师,要求退费",
            "{course}退费进度查询",
        ),
        descriptions=(
            "去年报名的{course}还剩{lessons}节没上,孩子课业太忙,想申请退剩余课时的费用。",
            "报了{course}才上了两节,老师换了三次,体验很差,要求按合同退费,订单{order}。",
            "{date}提交的{course}退费申请一直在审核中,已经超过承诺的7个工作日。",
        ),
        follow_ups=("退费金额是怎么算的?", "合同照片已经发给你们了", "财务说要班主任签字,这个谁来办?"),
        replies=(
            "您好,剩余{lessons}节课时可按合同退费,扣除已赠送的教材费后退{amount}。",
            "退费申请已提交财务审核,预计3个工作日内退回原支付账户。",
            "已联系班主任在系统中确认课时,今天内完成签字。",
        ),
        notes=("课时系统显示剩余{lessons}节,与客户描述一致。", "该学员家长之前投诉过排课问题,注意沟通语气。"),
        resolutions=("退费{amount}已原路退回,感谢您对我们的支持。", "退费已完成,学员账户课时已清零。"),
        tags=("教育", "退费"),
        slots={
            "course": ("少儿编程进阶班", "雅思冲刺班", "钢琴一对一", "小学奥数提高班", "成人口语课"),
            "lessons": ("6", "12", "18", "24"),
        },
        busy_hours=(19, 20, 21, 22),
        busy_weekdays=(6,),
    ),
    Scenario(
        key="edu_live_lag",
        label="直播卡顿",
        category="course",
        scenario="aftersales",
        team="售后组",
        channels=("wechat_mp", "mini_program", "h5_form", "wecom_kf"),
        priorities=URGENTISH,
        weight=6,
        titles=("{course}直播一直卡顿", "直播课看不了,黑屏", "今晚直播课声音断断续续"),
        descriptions=(
            "今晚{course}的直播课卡了二十多分钟,画面一直转圈,孩子错过了重点内容,能不能补课?",
            "用{device}打开直播间一直黑屏,只有声音,换了网络也一样。",
            "直播课声音断断续续,老师讲的题完全听不清,家长群里很多人都这样。",
        ),
        follow_ups=("回放什么时候能看?", "换了浏览器还是不行", "这已经是第二次了,再这样要退费"),
        replies=(
            "非常抱歉,今晚CDN节点异常影响了部分学员,回放已上传,可在课程页查看。",
            "请把App升级到最新版本后清除缓存再进入直播间试试。",
            "已为您的孩子安排一节免费补课,时间是{date}晚上7点。",
        ),
        notes=("网络诊断数据显示客户端丢包率18%,问题在CDN节点。", "技术组已切换备用推流线路。"),
        resolutions=("回放和补课都已安排,家长确认问题解决。", "升级App后直播恢复正常。"),
        tags=("教育", "直播卡顿", "技术问题"),
        slots={
            "course": ("少儿编程进阶班", "初中物理同步课", "雅思冲刺班", "考研数学直播课"),
            "device": ("iPad", "华为平板", "电脑浏览器", "安卓手机"),
        },
        busy_hours=(19, 20, 21),
    ),
    Scenario(
        key="edu_trial",
        label="试听咨询",
        category="course",
        scenario="presales",
        team="售前组",
        channels=("wechat_mp", "douyin", "h5_form", "wecom_app"),
        priorities=CALM,
        weight=5,
        titles=(
            "想预约{course}试听课|{course}适合几岁的孩子",
            "{course}收费标准咨询",
            "{course}周末班还有名额吗",
        ),
        descriptions=(
            "孩子今年{age}岁,想了解一下{course},能不能先约一节试听课?",
            "在抖音看到你们的{course}广告,请问线上还是线下上课?一期多少钱?",
            "朋友推荐的{course},想问一下周末班还有名额吗?",
        ),
        follow_ups=("试听是免费的吗?", "那周六上午可以吗?", "有没有老学员推荐优惠?"),
        replies=(
            "您好,{course}适合{age}岁左右的孩子,试听免费,可选周六或周日。",
            "已为您预约{date}的试听课,课前一天会有老师联系您。",
            "老学员推荐可减免500元,报名时填写推荐人手机号即可。",
        ),
        notes=("家长对价格比较敏感,已推荐分期方案。", "试听后意向强,已登记商机。"),
        resolutions=("试听已完成,家长已报名{course}。", "已发送课程介绍和报价,家长考虑后再联系。"),
        tags=("教育", "试听", "商机"),
        slots={
            "course": ("少儿编程启蒙班", "英语自然拼读", "美术创意课", "围棋入门班"),
            "age": ("5", "6", "7", "9", "10"),
        },
    ),
    Scenario(
        key="cake_custom",
        label="蛋糕定制",
        category="booking",
        scenario="sales",
        team="售前组",
        channels=("mini_program", "wechat_mp", "wecom_kf", "phone"),
        priorities=NORMAL,
        weight=6,
        titles=(
            "定制{size}寸{theme}生日蛋糕|{date}要一个{theme}主题蛋糕",
            "团建定两个{size}寸无糖蛋糕",
            "蛋糕定制:能不能加照片打印",
        ),
        descriptions=(
            "想定一个{size}寸的{theme}蛋糕,{date}下午{slot}送到{city}{district},蛋糕上写“{greeting}”。",
            "公司团建要{size}寸{theme}蛋糕两个,需要无糖的,能开发票吗?",
            "孩子生日想在蛋糕上打印一张照片,{size}寸,{theme}风格,照片怎么发给你们?",
        ),
        follow_ups=("可以改成动物奶油吗?", "配送时间能提前到{slot}吗?", "照片已发,麻烦确认一下效果"),
        replies=(
            "可以的,{size}寸{theme}蛋糕已记录,裱花师会在制作前发效果图给您确认。",
            "配送时段已调整为{slot},骑手出发时会给您打电话。",
            "无糖款需要提前48小时预订,已为您排单。",
        ),
        notes=("已把蛋糕尺寸、配送时段和特殊备注同步给裱花师和配送队。", "客户对芒果过敏,已备注不加芒果。"),
        resolutions=("蛋糕已按时送达,客户很满意。", "订单已完成,效果图和实物一致。"),
        tags=("烘焙", "定制", "配送"),
        slots={
            "size": ("6", "8", "10", "12"),
            "theme": ("小猪佩奇", "星空", "复古裱花", "汪汪队", "水果奶油"),
            "slot": ("14:00-15:00", "16:00-17:00", "18:00-19:00"),
            "district": ("天河区", "浦东新区", "西湖区"),
            "greeting": ("宝贝生日快乐", "爸爸六十大寿", "周年快乐", "前程似锦"),
        },
    ),
    Scenario(
        key="cake_delivery",
        label="配送问题",
        category="logistics",
        scenario="complaint",
        team="投诉处理组",
        channels=("mini_program", "wechat_mp", "phone"),
        priorities=URGENTISH,
        weight=3,
        titles=("生日蛋糕送迟了一个小时", "蛋糕送到时已经塌了", "蛋糕上的字写错了"),
        descriptions=(
            "约好{slot}送到,结果晚了一个多小时,生日宴客人都在等,太失望了,订单{order}。",
            "蛋糕送到的时候侧面全塌了,明显是路上颠坏的,照片已发,要求重做或退款。",
            "蛋糕上写成了别人的名字,订单备注写得很清楚,这种错误不能接受。",
        ),
        follow_ups=("我要的是退款不是优惠券", "今天能重做送过来吗?", "希望你们能重视"),
        replies=(
            "非常抱歉,配送超时是我们的责任,已为您全额退款{amount}。",
            "已安排门店重新制作,{slot}前送到,骑手会提前联系您。",
            "已核实是裱花环节看错了备注,我们会在出品前增加复核。",
        ),
        notes=("骑手当天接单量过多,已反馈配送站调整。", "已与门店沟通,重做费用由门店承担。"),
        resolutions=("已退款并重新配送,客户接受处理结果。", "客户收到重做的蛋糕,表示满意。"),
        tags=("烘焙", "投诉", "配送"),
        slots={"slot": ("14:00-15:00", "17:00-18:00", "19:00-20:00")},
    ),
    Scenario(
        key="pharmacy_delivery",
        label="药品配送",
        category="logistics",
        scenario="sales",
        team="售前组",
        channels=("mini_program", "wechat_mp", "api", "phone"),
        priorities=NORMAL,
        weight=5,
        titles=(
            "药品订单{order}配送进度",
            "药品配送地址修改",
            "会员订单什么时候送到",
        ),
        descriptions=(
            "在药店小程序下单的{medicine},显示配送中已经三个小时了,家里老人等着吃药。",
            "订单{order}的收货地址填错了,要改到{city}{district},还来得及吗?",
            "会员生日券下单的{medicine},想确认一下今天能不能送到。",
        ),
        follow_ups=("骑手电话打不通", "好的,谢谢,我在家等着", "能不能放到小区门卫?"),
        replies=(
            "已联系门店,骑手预计30分钟内送达,配送进度会短信通知您。",
            "地址已修改为{city}{district},不影响今天送达。",
            "已备注放门卫处,送达后会拍照给您。",
        ),
        notes=("门店店长已收到企微提醒,亲自跟进配送。", "处方药需核验处方,已提醒药师。"),
        resolutions=("药品已送达,客户确认签收。", "订单已完成配送,已发送用药提醒。"),
        tags=("药店", "配送", "会员"),
        slots={
            "medicine": ("布洛芬缓释胶囊", "阿莫西林胶囊", "血压计", "维生素D滴剂", "医用口罩"),
            "district": ("海珠区", "徐汇区", "鼓楼区", "福田区"),
        },
    ),
    Scenario(
        key="pharmacy_consult",
        label="用药咨询",
        category="consultation",
        scenario="presales",
        team="售前组",
        channels=("wechat_mp", "mini_program", "wecom_kf"),
        priorities=CALM,
        weight=3,
        titles=(
            "{medicine}能和降压药一起吃吗",
            "{medicine}有没有货",
            "孕期能用{medicine}吗",
        ),
        descriptions=(
            "家里老人在吃降压药,想问{medicine}能不能一起吃?",
            "附近门店{store}还有{medicine}吗?想今天去买。",
            "怀孕五个月,最近过敏,{medicine}能用吗?",
        ),
        follow_ups=("需要带处方去吗?", "好的,我去门店找药师", "门店几点关门?"),
        replies=(
            "建议咨询驻店药师,我们已为您预约{date}的药师电话回访。",
            "{store}有现货,可以在小程序下单到店自提。",
            "孕期用药请遵医嘱,药师会在今天下午给您回电。",
        ),
        notes=("已转驻店药师电话回访。",),
        resolutions=("药师已电话解答,客户无其他问题。", "客户已到店自提。"),
        tags=("药店", "用药咨询"),
        slots={"medicine": ("氯雷他定片", "连花清瘟胶囊", "维生素C泡腾片", "蒙脱石散")},
    ),
    Scenario(
        key="bank_card_apply",
        label="信用卡办卡",
        category="card_service",
        scenario="sales",
        team="售前组",
        channels=("mini_program", "wechat_mp", "api", "phone"),
        priorities=NORMAL,
        weight=6,
        titles=("{card}申请进度查询", "办卡资料缺失需要补充", "{card}什么时候能寄到"),
        descriptions=(
            "{date}在App提交的{card}申请,一直显示审核中,想知道卡在哪一步了。",
            "收到短信说办卡资料缺少{missing},在哪里补充?",
            "{card}审批通过了,制卡配送到{city}大概要多久?",
        ),
        follow_ups=("{missing}已经上传了", "能不能加急?", "卡片寄到公司可以吗?"),
        replies=(
            "您的申请目前在风险评估环节,预计2个工作日内完成审批。",
            "已为您推送带预填表格的补件链接,上传{missing}后会自动回传。",
            "卡片已制卡,快递单号{tracking},请本人签收。",
        ),
        notes=("资料核验完成,转入风险评估子任务。", "客户是代发工资客户,可走快速审批通道。"),
        resolutions=("卡片已签收,已引导客户完成激活。", "审批通过,卡片已寄出。"),
        tags=("银行", "信用卡", "办卡"),
        slots={
            "card": ("白金信用卡", "联名信用卡", "留学生信用卡", "车主信用卡"),
            "missing": ("收入证明", "工作证明", "身份证反面照片", "社保缴纳记录"),
        },
    ),
    Scenario(
        key="bank_card_complaint",
        label="信用卡投诉",
        category="card_service",
        scenario="complaint",
        team="投诉处理组",
        channels=("phone", "wechat_mp", "email"),
        priorities=URGENTISH,
        weight=3,
        titles=("信用卡被扣年费不认可", "一笔不认识的消费{amount}", "分期手续费和宣传不一致"),
        descriptions=(
            "办卡时说刷满6次免年费,我刷了8次还是被扣了年费,要求退回。",
            "信用卡尾号{card_tail}{date}有一笔{amount}的消费,不是我本人刷的,已经冻结卡片。",
            "办分期时说手续费0.6%,账单上实际是0.75%,觉得被误导了。",
        ),
        follow_ups=("调查需要多久?", "我要求书面答复", "已经报警了,回执发给你们"),
        replies=(
            "已为您提交年费减免申请,审核通过后下期账单退回。",
            "已发起争议交易调查,调查期间这笔款项不计息。",
            "已调取办理录音核实,会在5个工作日内书面答复。",
        ),
        notes=("高净值客户,已升级给投诉专员优先处理。", "风控确认该笔交易异地登录,疑似盗刷。"),
        resolutions=("争议交易已认定为盗刷,款项已退回客户账户。", "年费已退回,客户接受处理。"),
        tags=("银行", "投诉", "信用卡"),
        slots={
            "card_tail": ("3021", "8847", "1196", "5530"),
            "amount": ("¥3,280.00", "¥699.00", "¥12,450.00"),
        },
    ),
    Scenario(
        key="auto_maintenance",
        label="保养预约",
        category="booking",
        scenario="sales",
        team="售前组",
        channels=("wechat_mp", "mini_program", "wecom_app", "phone"),
        priorities=CALM,
        weight=6,
        titles=(
            "预约{car}{km}公里保养|{date}想做保养,有工位吗",
            "{km}公里保养套餐价格咨询",
            "周末保养顺便查空调异味",
        ),
        descriptions=(
            "我的{car}快到{km}公里了,想预约{date}上午做保养,车牌{plate}。",
            "收到保养提醒短信,想问一下{km}公里保养包含哪些项目,多少钱?",
            "周末想去{store}做保养,顺便检查一下空调异味,能约吗?",
        ),
        follow_ups=("保养要多长时间?", "能提供代步车吗?", "换成下午可以吗?"),
        replies=(
            "已为您预约{date}上午9:30,技师{engineer}为您服务,到店直接进工位。",
            "{km}公里保养包含机油、机滤和全车检查,套餐价{amount}。",
            "代步车已为您预留,到店出示驾驶证即可。",
        ),
        notes=("根据技师排班避开了周六高峰。", "客户车辆有一次召回未处理,到店时一并处理。"),
        resolutions=("保养已完成,下次保养提醒已设置。", "客户已到店完成保养。"),
        tags=("汽车4S", "保养预约"),
        slots={
            "car": ("凯美瑞", "雅阁", "Model 3", "途观L", "比亚迪汉"),
            "km": ("5000", "10000", "20000", "30000"),
            "plate": ("粤A·3K2Q8", "沪B·9D021", "浙A·7F5M1"),
            "engineer": ("李技师", "王技师", "陈技师"),
        },
    ),
    Scenario(
        key="auto_repair_complaint",
        label="维修质量投诉",
        category="installation_repair",
        scenario="complaint",
        team="投诉处理组",
        channels=("phone", "wechat_mp", "douyin"),
        priorities=URGENTISH,
        weight=2,
        titles=("保养后车辆出现异响", "维修等了三天还没修好", "维修费用和报价不符"),
        descriptions=(
            "上周在{store}做完保养,开回家就有异响,怀疑是底盘螺丝没拧紧。",
            "车子送修三天了,每次问都说配件没到,我需要用车。",
            "报价说{amount},结算时多了好几项没沟通过的费用。",
        ),
        follow_ups=("什么时候能给答复?", "要求服务经理给我回电话", "我要在网上曝光"),
        replies=(
            "非常抱歉,已安排免费上门接车复检。",
            "配件明天上午到店,下午交车,期间为您提供代步车。",
            "服务经理会在今天内给您电话,说明费用明细。",
        ),
        notes=("已调取施工单,确认漏做了底盘紧固项。", "服务经理已电话致歉。"),
        resolutions=("复检后问题已解决,赠送一次免费保养。", "多收费用已退回,客户接受。"),
        tags=("汽车4S", "投诉", "维修"),
    ),
    Scenario(
        key="baby_formula",
        label="奶粉咨询",
        category="consultation",
        scenario="presales",
        team="售前组",
        channels=("wechat_mp", "wecom_app", "wecom_kf", "mini_program", "douyin"),
        priorities=CALM,
        weight=7,
        titles=(
            "宝宝{months}个月该换几段奶粉|{formula}转奶怎么转",
            "{formula}冲泡比例咨询",
            "宝宝喝{formula}后便秘",
        ),
        descriptions=(
            "宝宝{months}个月了,一直喝{formula}一段,什么时候换二段?要怎么过渡?",
            "半夜在宝妈群里问的:{formula}冲泡水温多少度合适?一勺配多少毫升水?",
            "宝宝换了{formula}以后三天没大便了,是不是上火?要不要换回原来的?",
        ),
        follow_ups=("那转奶需要几天?", "好的谢谢营养师", "宝宝有点湿疹,有没有水解蛋白的?"),
        replies=(
            "您好,宝宝满6个月可以开始转二段,建议用7-10天新旧混合逐步过渡。",
            "冲泡水温40-50℃,一平勺配30毫升水,先加水再加奶粉。",
            "已安排值班营养师为您一对一解答,稍后会在企业微信联系您。",
        ),
        notes=("客户夜间咨询,已推给值班营养师。", "宝宝疑似乳蛋白过敏,建议就医并推荐水解配方。"),
        resolutions=("营养师已解答,客户了解转奶方法。", "已推荐适合的配方,客户下单了试用装。"),
        tags=("母婴", "奶粉", "营养咨询"),
        slots={"months": ("4", "6", "8", "11", "13"), "formula": ("启赋", "飞鹤星飞帆", "爱他美", "a2至初")},
        busy_hours=(0, 1, 2, 22, 23),
    ),
    Scenario(
        key="baby_return",
        label="母婴退换",
        category="refund_return",
        scenario="aftersales",
        team="售后组",
        channels=("mini_program", "wechat_mp", "wecom_kf"),
        priorities=NORMAL,
        weight=4,
        titles=("奶粉快到期了能换吗", "收到的奶粉罐子凹了", "买错段位想换货"),
        descriptions=(
            "收到的{formula}生产日期是去年的,离到期只有三个月,能换新日期的吗?订单{order}。",
            "{formula}罐子侧面凹进去一块,担心密封有问题,不敢给宝宝喝。",
            "下单时选错了,买成了三段,宝宝才{months}个月,没拆封,想换成二段。",
        ),
        follow_ups=("需要我寄回去吗?", "换货大概多久?", "新的什么时候发?"),
        replies=(
            "未拆封可以直接换货,已为您生成上门取件单。",
            "罐体破损我们直接补发,旧罐无需寄回。",
            "换货商品已从仓库发出,单号{tracking}。",
        ),
        notes=("仓库批次{batch}临期,已通知下架。",),
        resolutions=("换货已完成,客户已收到新日期的奶粉。", "已补发并致歉,客户满意。"),
        tags=("母婴", "退换货"),
        slots={
            "formula": ("启赋", "飞鹤", "美素佳儿", "惠氏"),
            "months": ("5", "7", "9"),
            "batch": ("B2407", "B2411", "C0103"),
        },
        busy_hours=(21, 22, 23, 0),
    ),
    Scenario(
        key="appliance_install",
        label="安装预约",
        category="installation_repair",
        scenario="aftersales",
        team=REGIONAL,
        channels=("mini_program", "api", "phone", "wecom_app"),
        priorities=NORMAL,
        weight=5,
        titles=("{appliance}安装预约", "{appliance}到货了什么时候安装", "安装师傅改约时间"),
        descriptions=(
            "{city}的订单{order},{appliance}已经到货,想约{date}上门安装,需要准备什么?",
            "{appliance}送到三天了还没人联系安装,家里等着用。",
            "原来约的{date}有事,想改到周末,{appliance}安装。",
        ),
        follow_ups=("需要额外收费吗?", "打孔要另外付钱吗?", "师傅到了楼下"),
        replies=(
            "已为您安排{date}上午上门安装,师傅出发前会电话联系。",
            "标准安装免费,如需加长铜管按价目表收费,师傅会先确认。",
            "已改约到周六下午,师傅{engineer}负责。",
        ),
        notes=("暴雨天气多个区域积压,优先安排老人独居家庭。", "师傅已上传安装照片和客户签字。"),
        resolutions=("安装完成,客户已签字确认。", "设备已安装调试完毕,讲解了使用方法。"),
        tags=("家电", "安装", "现场服务"),
        slots={
            "appliance": ("变频空调", "燃气热水器", "洗碗机", "中央净水机"),
            "engineer": ("何师傅", "罗师傅", "高师傅", "沈师傅", "郭师傅"),
        },
    ),
    Scenario(
        key="tv_fault",
        label="设备故障",
        category="installation_repair",
        scenario="aftersales",
        team=REGIONAL,
        channels=("api", "wechat_mp", "phone"),
        priorities=URGENTISH,
        weight=3,
        titles=("智能电视频繁死机", "设备上报:连续三次死机 {sn}", "电视开机黑屏"),
        descriptions=(
            "IoT 平台自动上报:设备{sn}在24小时内连续三次死机,固件版本{firmware},用户所在地{city}。",
            "买了半年的电视最近总是看一会就卡死,只能拔电源,序列号{sn}。",
            "电视开机有声音没画面,背光好像不亮了,{city}。",
        ),
        follow_ups=("升级以后还是死机", "什么时候能上门?", "在保修期内吧?"),
        replies=(
            "已为您推送固件{firmware_new}升级,升级后请观察一天。",
            "师傅明天上午上门检测,请保持电话畅通。",
            "电视在保修期内,检测和维修都免费。",
        ),
        notes=("同批次设备本周上报死机12次,已反馈研发。", "检测为主板电容故障,已申请备件。"),
        resolutions=("已更换主板,电视恢复正常。", "固件升级后连续三天无死机,结案。"),
        tags=("家电", "IoT", "设备故障"),
        slots={"firmware": ("V3.2.1", "V3.2.4"), "firmware_new": ("V3.3.0",)},
    ),
    Scenario(
        key="restaurant_feedback",
        label="菜品反馈",
        category="product_quality",
        scenario="complaint",
        team="投诉处理组",
        channels=("h5_form", "mini_program", "wechat_mp"),
        priorities=NORMAL,
        weight=4,
        titles=("{store}菜品温度不够", "{dish}太咸了", "外卖少送了一份{dish}"),
        descriptions=(
            "扫外卖小票二维码反馈:{dish}送到时已经凉了,{store}出的单。",
            "今天在{store}堂食,{dish}咸得没法吃,跟服务员说了也没处理。",
            "外卖订单{order}少送了一份{dish},已付款{amount}。",
        ),
        follow_ups=("希望后厨注意一下", "补送可以,但要快", "谢谢处理"),
        replies=(
            "感谢反馈,已转给{store}后厨整改,并给您补偿一张代金券。",
            "少送的{dish}已安排补送,30分钟内到。",
            "已为您退回{dish}的费用{amount}。",
        ),
        notes=("同一门店本月第四次反馈菜品温度问题,已通知区域经理。", "后厨出品检查表已更新。"),
        resolutions=("已补偿并致歉,门店整改完成。", "补送完成,客户满意。"),
        tags=("餐饮", "菜品反馈"),
        slots={"dish": ("宫保鸡丁", "酸菜鱼", "小炒黄牛肉", "干炒牛河", "红烧排骨")},
        busy_hours=(12, 13, 18, 19),
    ),
    Scenario(
        key="account_login",
        label="账号问题",
        category="account",
        scenario="aftersales",
        team="售后组",
        channels=("mini_program", "wechat_mp", "email", "h5_form"),
        priorities=NORMAL,
        weight=4,
        titles=("小程序登录不上", "手机号换了怎么改绑", "会员积分不见了"),
        descriptions=(
            "小程序一直提示“登录失败,请稍后再试”,已经试了一整天。",
            "原来的手机号停用了,会员账号怎么换绑到新号码?",
            "会员积分原来有{points}分,今天一看变成0了,没有兑换过东西。",
        ),
        follow_ups=("还是登录不上", "新号码尾号是{phone_tail}", "积分什么时候能恢复?"),
        replies=(
            "麻烦在微信里删除小程序后重新搜索进入,再试一次登录。",
            "已核实身份,帮您换绑到尾号{phone_tail}的新号码。",
            "积分是年底清零规则导致的,已为您申请恢复{points}分。",
        ),
        notes=("后台日志显示该账号被风控误拦截,已解除。", "已核对实名信息,确认本人操作。"),
        resolutions=("客户已能正常登录。", "积分已恢复,客户确认。"),
        tags=("账号", "会员"),
        slots={"points": ("1280", "3560", "860", "12000")},
    ),
)

# Generic lines mixed into any conversation.
CUSTOMER_CHASERS = (
    "请问处理得怎么样了?",
    "怎么还没有人回复?",
    "麻烦快一点,挺着急的",
    "今天能给个结果吗?",
    "已经等了好久了",
    "有进展了请告诉我一声",
)
CUSTOMER_INFO_REPLIES = (
    "照片已经发过去了,请查收",
    "订单号是{order},麻烦再看一下",
    "我的手机号尾号是{phone_tail}",
    "地址是{city}{store}附近,下午都有人在",
    "好的,我补充一下:问题是从{date}开始出现的",
)
CUSTOMER_REOPEN = (
    "问题又出现了,麻烦再帮我看看",
    "说好的已经处理,但实际上并没有解决",
    "今天又遇到同样的情况了",
)
AGENT_ASK_INFO = (
    "麻烦您提供一下订单截图或订单号,方便我们核实。",
    "请发一张问题部位的照片,我们好判断原因。",
    "麻烦确认一下收货地址和联系电话,我们安排后续处理。",
    "请问方便提供一下设备序列号吗?一般在机身背面。",
)
AGENT_ACK = (
    "您好,已收到您的反馈,正在为您核实,请稍等。",
    "您好,我是客服{agent},这个问题由我来跟进。",
    "感谢您的耐心,我们已经在加急处理了。",
)
TRANSFER_NOTES = (
    "客户情绪激动,转投诉处理组专人跟进。",
    "涉及退款金额较大,转组长审批。",
    "该客户之前由{agent}服务过,转给熟悉的同事。",
)
HOLD_REASONS = ("等待配件到货", "等待厂家技术支持回复", "等待财务审批", "客户出差,约定下周再联系")
PENDING_REASONS = ("等待客户补充资料", "已给出方案,等待客户确认")
LATER_TAGS = ("已回访", "VIP", "重复来电", "需二次跟进", "好评", "升级处理")
STORES = (
    "天河城店",
    "珠江新城店",
    "徐汇滨江店",
    "静安寺店",
    "西湖银泰店",
    "新街口店",
    "观前街店",
    "南山科技园店",
    "万象城店",
    "春熙路店",
    "解放碑店",
    "五一广场店",
    "12号门店",
    "光谷店",
    "钟楼店",
)
ORDER_PREFIXES = ("DD", "JD", "TB", "WX", "MP")
